// Package monitor watches an orchard cluster: Prometheus collectors for host
// statistics (CPU, load, memory, network, disk), a scraper that reads every
// process's /metrics and keeps a bounded per-minute history on disk, the
// cluster dashboard (server-rendered SVG graphs, an http.Handler the admin UI
// mounts), and the probe — the external monitor that requests URLs on a
// schedule, records timings in its own SQLite file, and reports uptime.
//
// Bounds: the scraper's history is a fixed-size ring of one slot per minute
// for a week (10,080 slots) per target: a file of exactly
// HistoryBytesPerTarget (403,210 bytes, ≈394 KiB) per target on disk, the
// same in memory, plus the last 720 raw samples (≈62 KiB) for the hour
// view — about 460 KiB per target whatever the uptime (a 10-node cluster:
// 12 targets, ≈4.7 MiB on disk, ≈5.5 MiB of memory).
//
// Cost, measured with go test -bench . ./monitor (2-core EPYC): one scrape
// of a process's /metrics, host statistics included, 0.47 ms; a scraper
// round over 5 targets 3.7 ms; the dashboard page for 5 targets 1.2 ms
// (hour) and 17 ms (week).
package monitor
