package monitor

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/load"
	"github.com/shirou/gopsutil/v4/mem"
	"github.com/shirou/gopsutil/v4/net"
)

// Host metric names. The dashboard reads these.
const (
	MetricCPUSeconds   = "orchard_host_cpu_seconds_total"
	MetricCPUs         = "orchard_host_cpus"
	MetricLoad1        = "orchard_host_load1"
	MetricMemTotal     = "orchard_host_memory_total_bytes"
	MetricMemAvailable = "orchard_host_memory_available_bytes"
	MetricNetRx        = "orchard_host_network_receive_bytes_total"
	MetricNetTx        = "orchard_host_network_transmit_bytes_total"
)

// HostCollector reads the machine's CPU, load, memory, network and disk
// statistics (from /proc, through gopsutil) each time it is scraped.
type HostCollector struct {
	paths []string // file systems to report free space of
	log   *slog.Logger

	cpuSecs, cpus, load1, load5, load15, memTotal, memAvail, memUsed *prometheus.Desc
	netRx, netTx, diskRead, diskWrite, fsSize, fsFree                *prometheus.Desc
}

// NewHostCollector returns a collector of host statistics; paths are
// directories (e.g. data directories) whose file system's size and free
// space are reported. It does no I/O until scraped.
func NewHostCollector(logger *slog.Logger, paths ...string) *HostCollector {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &HostCollector{
		paths:     paths,
		log:       logger,
		cpuSecs:   d(MetricCPUSeconds, "CPU time spent by all CPUs, by mode (user, system, idle, iowait, other).", "mode"),
		cpus:      d(MetricCPUs, "Logical CPUs."),
		load1:     d(MetricLoad1, "Load average over 1 minute."),
		load5:     d("orchard_host_load5", "Load average over 5 minutes."),
		load15:    d("orchard_host_load15", "Load average over 15 minutes."),
		memTotal:  d(MetricMemTotal, "Physical memory."),
		memAvail:  d(MetricMemAvailable, "Memory available to new programs without swapping."),
		memUsed:   d("orchard_host_memory_used_bytes", "Memory in use (total - available)."),
		netRx:     d(MetricNetRx, "Bytes received, by network interface (loopback excluded).", "device"),
		netTx:     d(MetricNetTx, "Bytes sent, by network interface (loopback excluded).", "device"),
		diskRead:  d("orchard_host_disk_read_bytes_total", "Bytes read, by block device.", "device"),
		diskWrite: d("orchard_host_disk_written_bytes_total", "Bytes written, by block device.", "device"),
		fsSize:    d("orchard_host_filesystem_size_bytes", "Size of the file system holding path.", "path"),
		fsFree:    d("orchard_host_filesystem_free_bytes", "Free space on the file system holding path.", "path"),
	}
}

// Describe implements prometheus.Collector.
func (h *HostCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{h.cpuSecs, h.cpus, h.load1, h.load5, h.load15, h.memTotal, h.memAvail,
		h.memUsed, h.netRx, h.netTx, h.diskRead, h.diskWrite, h.fsSize, h.fsFree} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. A statistic that cannot be read
// is left out (and logged at debug level), never an error for the scrape.
func (h *HostCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	if ts, err := cpu.TimesWithContext(ctx, false); err == nil && len(ts) == 1 {
		t := ts[0]
		counter(h.cpuSecs, t.User+t.Nice, "user")
		counter(h.cpuSecs, t.System, "system")
		counter(h.cpuSecs, t.Idle, "idle")
		counter(h.cpuSecs, t.Iowait, "iowait")
		counter(h.cpuSecs, t.Irq+t.Softirq+t.Steal, "other")
	} else {
		h.log.Debug("host cpu", "err", err)
	}
	if n, err := cpu.CountsWithContext(ctx, true); err == nil {
		gauge(h.cpus, float64(n))
	}
	if a, err := load.AvgWithContext(ctx); err == nil {
		gauge(h.load1, a.Load1)
		gauge(h.load5, a.Load5)
		gauge(h.load15, a.Load15)
	} else {
		h.log.Debug("host load", "err", err)
	}
	if m, err := mem.VirtualMemoryWithContext(ctx); err == nil {
		gauge(h.memTotal, float64(m.Total))
		gauge(h.memAvail, float64(m.Available))
		gauge(h.memUsed, float64(m.Total-m.Available))
	} else {
		h.log.Debug("host memory", "err", err)
	}
	if ns, err := net.IOCountersWithContext(ctx, true); err == nil {
		for _, n := range ns {
			if n.Name == "lo" || strings.HasPrefix(n.Name, "lo:") {
				continue
			}
			counter(h.netRx, float64(n.BytesRecv), n.Name)
			counter(h.netTx, float64(n.BytesSent), n.Name)
		}
	} else {
		h.log.Debug("host network", "err", err)
	}
	if ds, err := disk.IOCountersWithContext(ctx); err == nil {
		for name, d := range ds {
			if strings.HasPrefix(name, "loop") || strings.HasPrefix(name, "ram") {
				continue
			}
			counter(h.diskRead, float64(d.ReadBytes), name)
			counter(h.diskWrite, float64(d.WriteBytes), name)
		}
	} else {
		h.log.Debug("host disk", "err", err)
	}
	for _, p := range h.paths {
		if u, err := disk.UsageWithContext(ctx, p); err == nil {
			gauge(h.fsSize, float64(u.Total), p)
			gauge(h.fsFree, float64(u.Free), p)
		}
	}
}
