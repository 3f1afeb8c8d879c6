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

// giveLoopsCPUs returns how many event loops proxy: one per worker. They
// serve a balancer started with the edge cache off (with it on, the
// cache's hits and fills are the goroutine path's), each sleeping in its
// own epoll_wait while it keeps its CPU; the runtime gets one CPU more than
// the loops, so that the accept loop, health checks and the requests the
// loops hand on never wait for a loop's thread (docs/balancer-speed.md
// measured this).
func giveLoopsCPUs() (loops int) {
	loops = runtime.GOMAXPROCS(0)
	runtime.GOMAXPROCS(loops + 1)
	return loops
}
