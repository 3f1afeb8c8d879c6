package monitor_test

import (
	"runtime"
	"testing"

	"github.com/orchardhq/orchard/monitor"
)

// TestRegistryHeapLive: a process's registry reports the heap its last GC
// found live, the figure the scale benchmark divides by the sites.
func TestRegistryHeapLive(t *testing.T) {
	reg := monitor.NewRegistry(monitor.ProcessInfo{Role: "node"}, nil, nil)
	runtime.GC()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "go_gc_heap_live_bytes" {
			if v := mf.GetMetric()[0].GetGauge().GetValue(); v <= 0 {
				t.Errorf("go_gc_heap_live_bytes = %v", v)
			}
			return
		}
	}
	t.Error("no go_gc_heap_live_bytes")
}
