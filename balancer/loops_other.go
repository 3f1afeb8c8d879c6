//go:build !linux

package balancer

import (
	"errors"
	"net"
	"sync/atomic"
)

const loopsSupported = false

// loops are the event loops of Linux; elsewhere a goroutine serves each
// connection.
type loops struct {
	force atomic.Bool
}

func (b *Balancer) startLoops(int, *connQueue) (*loops, error) {
	return nil, errors.New("event loops need Linux")
}

func (ls *loops) add(*fastConn, *net.TCPConn) bool { return false }
func (ls *loops) wakeAll()                         {}
func (ls *loops) halt()                            {}
