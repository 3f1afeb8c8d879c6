package monitor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"
)

// The values recorded for each target, in this order.
const (
	FieldRequests = iota // requests per second
	FieldErrors          // errors (5xx, balancer failures) per second
	FieldP99             // 99th percentile response time, milliseconds
	FieldCPU             // host CPU busy, percent
	FieldLoad            // host load average over 1 minute
	FieldMemory          // host memory used, percent
	FieldNetIn           // host network received, bytes per second
	FieldNetOut          // host network sent, bytes per second
	NumFields
)

// HistoryMinutes is how many per-minute slots a target's history keeps: a
// week.
const HistoryMinutes = 7 * 24 * 60

const (
	ringMagic    = "ORCHRING1\n"
	ringSlotSize = 8 + 4*NumFields // unix minute, then float32 values
	// HistoryBytesPerTarget is the size of one target's history file, and
	// about its size in memory.
	HistoryBytesPerTarget = len(ringMagic) + HistoryMinutes*ringSlotSize
)

// Values holds one value per field; NaN = unknown.
type Values [NumFields]float64

func nanValues() Values {
	var v Values
	for i := range v {
		v[i] = math.NaN()
	}
	return v
}

type slot struct {
	minute int64 // unix minute; 0 = empty
	v      [NumFields]float32
}

// ring is a week of per-minute averages for one target, mirrored to a file
// of fixed size (HistoryBytesPerTarget): slot i holds the minute m with
// m % HistoryMinutes == i.
type ring struct {
	f     *os.File // nil: memory only
	slots []slot
}

func openRing(path string) (*ring, error) {
	r := &ring{slots: make([]slot, HistoryMinutes)}
	if path == "" {
		return r, nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	r.f = f
	buf, err := io.ReadAll(io.LimitReader(f, int64(HistoryBytesPerTarget)+1))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("history %s: %w", path, err)
	}
	if len(buf) == HistoryBytesPerTarget && string(buf[:len(ringMagic)]) == ringMagic {
		b := buf[len(ringMagic):]
		for i := range r.slots {
			s := &r.slots[i]
			s.minute = int64(binary.LittleEndian.Uint64(b[i*ringSlotSize:]))
			for k := range s.v {
				s.v[k] = math.Float32frombits(binary.LittleEndian.Uint32(b[i*ringSlotSize+8+4*k:]))
			}
			if s.minute%HistoryMinutes != int64(i) || s.minute < 0 {
				*s = slot{} // not ours: forget it
			}
		}
		return r, nil
	}
	// New, or not a history file of this version: start empty.
	if err := f.Truncate(0); err != nil {
		f.Close()
		return nil, fmt.Errorf("history %s: %w", path, err)
	}
	img := make([]byte, HistoryBytesPerTarget)
	copy(img, ringMagic)
	if _, err := f.WriteAt(img, 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("history %s: %w", path, err)
	}
	return r, nil
}

// put stores the average of minute m.
func (r *ring) put(m int64, v Values) error {
	i := int(m % HistoryMinutes)
	s := slot{minute: m}
	for k := range v {
		s.v[k] = float32(v[k])
	}
	r.slots[i] = s
	if r.f == nil {
		return nil
	}
	var b [ringSlotSize]byte
	binary.LittleEndian.PutUint64(b[:], uint64(m))
	for k := range s.v {
		binary.LittleEndian.PutUint32(b[8+4*k:], math.Float32bits(s.v[k]))
	}
	_, err := r.f.WriteAt(b[:], int64(len(ringMagic)+i*ringSlotSize))
	return err
}

// get returns minute m's values, ok false when not recorded.
func (r *ring) get(m int64) (Values, bool) {
	if m < 0 {
		return Values{}, false
	}
	s := r.slots[m%HistoryMinutes]
	if s.minute != m {
		return Values{}, false
	}
	var v Values
	for k := range v {
		v[k] = float64(s.v[k])
	}
	return v, true
}

func (r *ring) close() error {
	if r.f == nil {
		return nil
	}
	err := r.f.Sync()
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	r.f = nil
	if errors.Is(err, os.ErrClosed) {
		return nil
	}
	return err
}

// minuteAcc averages the samples of the current minute.
type minuteAcc struct {
	minute int64
	sum    Values
	n      [NumFields]int
}

func (a *minuteAcc) add(v Values) {
	for k := range v {
		if !math.IsNaN(v[k]) && !math.IsInf(v[k], 0) {
			a.sum[k] += v[k]
			a.n[k]++
		}
	}
}

func (a *minuteAcc) avg() (Values, bool) {
	out := nanValues()
	any := false
	for k := range out {
		if a.n[k] > 0 {
			out[k] = a.sum[k] / float64(a.n[k])
			any = true
		}
	}
	return out, any
}

func unixMinute(t time.Time) int64 { return t.Unix() / 60 }
