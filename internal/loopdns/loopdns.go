// Package loopdns is a DNS server on a loopback port that answers every A
// question with 127.0.0.1, over UDP and TCP, so that a local ACME CA
// (Pebble, for the demo and the tests) validates any site name against
// the balancer on this machine.
package loopdns

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/miekg/dns"
)

// Server is a running loopback DNS server.
type Server struct {
	Addr    string // host:port, UDP and TCP
	servers []*dns.Server
}

// Start serves on a free loopback port.
func Start() (*Server, error) {
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		for _, q := range r.Question {
			if q.Qtype == dns.TypeA {
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET}, A: net.IPv4(127, 0, 0, 1)})
			}
		}
		w.WriteMsg(m)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	pc, err := net.ListenPacket("udp", ln.Addr().String())
	if err != nil {
		ln.Close()
		return nil, err
	}
	s := &Server{Addr: ln.Addr().String(), servers: []*dns.Server{{Listener: ln, Handler: handler}, {PacketConn: pc, Handler: handler}}}
	for _, srv := range s.servers {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go srv.ActivateAndServe()
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			s.Close()
			return nil, errors.New("loopback DNS server did not start")
		}
	}
	return s, nil
}

// Close stops the server.
func (s *Server) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range s.servers {
		srv.ShutdownContext(ctx)
	}
}
