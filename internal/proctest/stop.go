package proctest

import (
	"os"
	"syscall"
	"time"
)

// Stop asks p to stop (SIGTERM) and waits until exited is closed (by
// whoever waits on p); after grace it kills p and waits on.
func Stop(p *os.Process, exited <-chan struct{}, grace time.Duration) {
	_ = p.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(grace):
		_ = p.Kill()
		<-exited
	}
}
