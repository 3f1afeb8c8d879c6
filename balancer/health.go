package balancer

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	neturl "net/url"
	"sync"
	"time"

	"github.com/orchardhq/orchard"
)

// startHealth starts the active checks of m (if it has a health address);
// m.stop ends them and waits.
func (b *Balancer) startHealth(m *member, h HealthOptions) {
	if m.cfg.HealthAddr == "" {
		m.stop = func() {}
		m.halt = func() func() { return func() {} }
		return
	}
	ctx, cancel := context.WithCancel(b.ctx)
	done := make(chan struct{})
	client := &http.Client{
		Timeout: h.Timeout,
		Transport: &http.Transport{
			MaxIdleConnsPerHost:   1,
			IdleConnTimeout:       3 * h.Interval,
			ResponseHeaderTimeout: h.Timeout,
			DisableCompression:    true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	url := "http://" + m.cfg.HealthAddr + orchard.HealthPath
	m.check = func(ctx context.Context) { b.checkOnce(ctx, m, client, url, h) }
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		defer close(done)
		defer client.CloseIdleConnections()
		ticker := time.NewTicker(h.Interval)
		defer ticker.Stop()
		for {
			b.checkOnce(ctx, m, client, url, h)
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
		}
	}()
	// A loop marking its member down takes b.mu: whoever holds b.mu
	// halts the loop and waits for it only once b.mu is released.
	m.halt = func() func() {
		cancel()
		return func() { <-done }
	}
	m.stop = func() {
		cancel()
		<-done
	}
}

// checkOnce runs one health check of m and applies rise and fall.
func (b *Balancer) checkOnce(ctx context.Context, m *member, client *http.Client, url string, h HealthOptions) {
	start := time.Now()
	m.hmu.Lock()
	since := m.relVersion
	m.hmu.Unlock()
	health, err := fetchHealth(ctx, client, url, since)
	if ctx.Err() != nil {
		return
	}
	c := check{Time: start, OK: err == nil, Latency: time.Since(start)}
	if err != nil {
		c.Error = err.Error()
	}
	m.hmu.Lock()
	m.history = append(m.history, c)
	if len(m.history) > HealthHistory {
		m.history = append(m.history[:0], m.history[len(m.history)-HealthHistory:]...)
	}
	var up, down bool
	if err == nil {
		m.fails = 0
		m.passes++
		m.lastErr = ""
		up = m.down.Load() && m.passes >= h.Rise
	} else {
		m.passes = 0
		m.fails++
		m.lastErr = c.Error
		down = m.fails >= h.Fall && (!m.down.Load() || m.retryAt.Load() != math.MaxInt64)
	}
	m.hmu.Unlock()
	switch {
	case up:
		m.recover(time.Now().UnixNano())
		b.mu.Lock()
		b.recountMemberLocked(m)
		b.mu.Unlock()
		b.log.Info("member up", "pool", m.pool, "member", m.cfg.Name)
		if p := b.table.Load(); p != nil {
			if pl := p.byName[m.pool]; pl != nil {
				pl.wakeAll()
			}
		}
	case down:
		m.retryAt.Store(math.MaxInt64)
		m.down.Store(true)
		b.mu.Lock()
		b.recountMemberLocked(m)
		b.mu.Unlock()
		b.log.Warn("member down", "pool", m.pool, "member", m.cfg.Name, "err", err)
	}
	if err == nil && b.setHealthReleases(m, health, start.UnixNano()) {
		m.hmu.Lock()
		if start.UnixNano() >= m.relVersionAt {
			m.relVersion, m.relVersionAt = health.Version, start.UnixNano()
		}
		m.hmu.Unlock()
	}
}

// fetchHealth reads and checks one member's health document, asking for
// the changes since version since ("" for the whole list).
func fetchHealth(ctx context.Context, client *http.Client, url, since string) (*orchard.Health, error) {
	if since != "" {
		url += "?since=" + neturl.QueryEscape(since)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	var h orchard.Health
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&h); err != nil {
		return nil, fmt.Errorf("health document: %w", err)
	}
	if !h.OK {
		return nil, fmt.Errorf("member reports not ok")
	}
	return &h, nil
}

// Refresh checks every member's health now, in parallel, and returns each
// site's newest release as the balancer then routes it.
func (b *Balancer) Refresh(ctx context.Context) map[string]string {
	b.checkAll(ctx)
	return b.targets.Load().all()
}

// RefreshSite is Refresh for one site's question (a one-site publish): it
// returns that site's newest release ("" if none), not a copy of every
// site's (10,000 entries, each publish).
func (b *Balancer) RefreshSite(ctx context.Context, site string) string {
	b.checkAll(ctx)
	return b.targetRelease([]byte(site))
}

// checkAll checks every member's health now, in parallel.
func (b *Balancer) checkAll(ctx context.Context) {
	// A reload restarts members' checks (and sets m.check) under b.mu.
	var checks []func(context.Context)
	b.mu.Lock()
	if t := b.table.Load(); t != nil {
		for _, p := range t.pools {
			for _, m := range p.members {
				if m.check != nil {
					checks = append(checks, m.check)
				}
			}
		}
	}
	b.mu.Unlock()
	var wg sync.WaitGroup
	for _, check := range checks {
		wg.Go(func() { check(ctx) })
	}
	wg.Wait()
}
