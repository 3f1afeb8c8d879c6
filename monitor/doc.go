// Package monitor watches an orchard cluster: Prometheus collectors for host
// statistics (CPU, load, memory, network, disk), a scraper that reads every
// process's /metrics and keeps a bounded per-minute history on disk, the
// cluster dashboard (server-rendered SVG graphs, an http.Handler the admin UI
// mounts), and the probe — the external monitor that requests URLs on a
// schedule, records timings in its own SQLite file, and reports uptime.
//
// Bounds: the scraper's history is a fixed-size ring of one slot per minute
// for a week (10,080 slots) per target, 10,080 × 40 bytes ≈ 394 KiB per
// target on disk and the same in memory, whatever the uptime.
package monitor
