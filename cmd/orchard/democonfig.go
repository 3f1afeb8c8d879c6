package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"text/template"
)

// demoLayout is the set of addresses the demo cluster uses.
type demoLayout struct {
	Listen        string // balancer: what people open
	MasterListen  string
	MasterAdmin   string
	MasterControl string
	BalancerCtl   string
	Nodes         []demoNode
	// MySQL, when set, puts the CMS on the demo's MariaDB cluster.
	MySQL *demoDatabase
	// HTTPS, when set, adds the balancer's TLS listener and [acme].
	HTTPS *demoHTTPS
}

type demoNode struct{ Name, Listen, Control string }

// planDemo picks addresses near listen's port (8000 -> master 8080, admin
// 8079, control 8078, nodes 8081.. and 8181..), or free ports when those
// are taken, so the cluster file stays readable in the common case.
func planDemo(listen string, nodes int) (*demoLayout, error) {
	host, portStr, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, usagef("--listen %q: %v", listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		return nil, usagef("--listen %q: the port must be a number from 1 to 65535", listen)
	}
	if !isFree(listen) {
		return nil, usagef("--listen %s is already in use (is another demo running?); pick another with --listen", listen)
	}
	taken := map[string]bool{listen: true}
	pick := func(offset int) (string, error) {
		if p := port + offset; p > 0 && p < 65536 {
			a := net.JoinHostPort(host, strconv.Itoa(p))
			if !taken[a] && isFree(a) {
				taken[a] = true
				return a, nil
			}
		}
		return freeAddr(host, taken)
	}
	l := &demoLayout{Listen: listen}
	for _, f := range []struct {
		dst *string
		off int
	}{{&l.MasterListen, 80}, {&l.MasterAdmin, 79}, {&l.MasterControl, 78}, {&l.BalancerCtl, 100}} {
		if *f.dst, err = pick(f.off); err != nil {
			return nil, err
		}
	}
	for i := 0; i < nodes; i++ {
		n := demoNode{Name: fmt.Sprintf("node%d", i)}
		if n.Listen, err = pick(81 + i); err != nil {
			return nil, err
		}
		if n.Control, err = pick(181 + i); err != nil {
			return nil, err
		}
		l.Nodes = append(l.Nodes, n)
	}
	return l, nil
}

// planned returns the addresses l has planned.
func (l *demoLayout) planned() map[string]bool {
	t := map[string]bool{l.Listen: true, l.MasterListen: true, l.MasterAdmin: true, l.MasterControl: true, l.BalancerCtl: true}
	for _, n := range l.Nodes {
		t[n.Listen], t[n.Control] = true, true
	}
	return t
}

// freeAddr returns an address on host that nothing listens on and that is
// not in taken, and adds it to taken. The kernel may offer a port it has
// just freed again, so two calls in a row could otherwise agree.
func freeAddr(host string, taken map[string]bool) (string, error) {
	for range 100 {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return "", err
		}
		a := ln.Addr().String()
		ln.Close()
		if !taken[a] {
			taken[a] = true
			return a, nil
		}
	}
	return "", fmt.Errorf("no free port on %s", host)
}

func isFree(addr string) bool {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	l.Close()
	return true
}

var demoConfigTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("orchard.toml").Parse(`# Written by "orchard demo"; it is rewritten each time the demo starts.
# Every orchard command can use it: orchard status --config {{.Path}}
secret_file = "secret.key"

[database]
{{- if .L.MySQL}}
driver = "mysql"
primary = "{{.L.MySQL.Primary}}"
replicas = [{{range $i, $r := .L.MySQL.Replicas}}{{if $i}}, {{end}}"{{$r}}"{{end}}]
password_file = "db-password"
{{- else}}
driver = "sqlite"
path = "data/orchard.db"
{{- end}}

[master]
listen = "{{.L.MasterListen}}"
admin = "{{.L.MasterAdmin}}"
control = "{{.L.MasterControl}}"
data = "data/master"
{{range .L.Nodes}}
[[node]]
name = "{{.Name}}"
listen = "{{.Listen}}"
control = "{{.Control}}"
data = "data/{{.Name}}"
catch_up = "2s"
{{end}}
[balancer]
listen = "{{.L.Listen}}"
control = "{{.L.BalancerCtl}}"
manager = "/orchard-manager"
manager_allow = ["127.0.0.0/8", "::1/128"]
access_log = "logs/access.log"
data = "data/balancer"
{{- if .L.HTTPS}}
tls_listen = "{{.L.HTTPS.TLSListen}}"
{{- end}}

[[balancer.pool]]
name = "web"
method = "byrequests"
members = [{{range $i, $n := .L.Nodes}}{{if $i}}, {{end}}"{{$n.Name}}"{{end}}]

[[balancer.vhost]]
hosts = ["*"]
pool = "web"
deny = ["/admin/*"]
{{- if .L.HTTPS}}

# Automatic HTTPS from the demo's local test CA (Pebble); for Let's
# Encrypt, see docs/https.md.
[acme]
directory = "https://{{.L.HTTPS.Pebble}}/dir"
email = "demo@example.com"
agree_terms = true
ca_root = "{{.L.HTTPS.CARoot}}"
{{- end}}
`))
})

// writeDemoConfig writes DIR/orchard.toml for the layout, atomically.
func writeDemoConfig(dir string, l *demoLayout) (string, error) {
	path := filepath.Join(dir, "orchard.toml")
	var b bytes.Buffer
	if err := demoConfigTemplate().Execute(&b, struct {
		Path string
		L    *demoLayout
	}{path, l}); err != nil {
		return "", err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b.Bytes(), 0o640); err != nil {
		return "", fmt.Errorf("write cluster file: %w", err)
	}
	return path, os.Rename(tmp, path)
}
