package main

import (
	"log/slog"
	"runtime"
)

// setWorkers applies a node's or the balancer's workers setting: how many
// CPUs run its Go code at once (nginx's worker_processes). 0 keeps the
// runtime's choice (every CPU, or $GOMAXPROCS). On a machine shared with
// other busy processes, fewer workers than CPUs measured faster: an idle
// worker spinning for work takes CPU from the rest.
func setWorkers(n int, log *slog.Logger) {
	if n <= 0 {
		return
	}
	prev := runtime.GOMAXPROCS(n)
	if prev != n {
		log.Info("workers set", "workers", n, "cpus", runtime.NumCPU())
	}
}
