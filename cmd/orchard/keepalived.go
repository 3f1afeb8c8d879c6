package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/spf13/cobra"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/config"
)

// keepalivedConf is keepalived's configuration for one balancer of a tier
// (keepalived 2.2 syntax, VRRP version 2). The health check has fall 1:
// one failed or timed-out check puts the instance in FAULT, which gives up
// the address at once (a priority-0 advert makes the backup take over
// without waiting three adverts), so a hung balancer loses it as surely
// as a dead one. Both peers start as BACKUP and the priorities elect the
// holder.
var keepalivedConf = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("keepalived").Parse(`# keepalived.conf for orchard balancer {{.Name}}, written by
#   orchard balancer keepalived-config {{.Name}}
# from {{.ConfigPath}}. Write it again when the cluster file changes.

global_defs {
    router_id orchard_{{.Name}}
    # The check only reads an HTTP endpoint; it needs no privileges, but
    # Debian has no keepalived_script user, so name the user outright.
    # Script security refuses a check program a non-root user could replace.
    script_user {{.ScriptUser}}
    enable_script_security
}

vrrp_script orchard_health {
    script "{{.Orchard}} balancer check --timeout {{.Timeout}} {{.Control}}"
    interval {{.Interval}}
    timeout {{.ScriptTimeout}}
    fall 1
    rise 2
}

# 0 while the balancer serves, 1 from the moment it stops or dies
# (written by the balancer and its watcher): no wait for the next check.
track_file orchard_serving {
    file "{{.TrackFile}}"
    weight 0
    init_file 0
}

vrrp_instance orchard_balancer {
    state BACKUP
    interface {{.Interface}}
    virtual_router_id {{.RouterID}}
    priority {{.Priority}}
    advert_int {{.Advert}}
    authentication {
        auth_type PASS
        auth_pass {{.AuthPass}}
    }
    virtual_ipaddress {
        {{.Address}} dev {{.Interface}}
    }
    track_script {
        orchard_health
    }
    track_file {
        orchard_serving
    }
}
`))
})

// keepalivedParams fill keepalivedConf.
type keepalivedParams struct {
	Name, ConfigPath, Orchard, ScriptUser string
	Control, Interface, Address, AuthPass string
	TrackFile                             string
	Timeout                               string // Go duration for 'orchard balancer check'
	ScriptTimeout, Interval, Advert       int    // seconds
	RouterID, Priority                    int
}

// writeKeepalivedConf writes keepalived's configuration for the balancer
// called name. orchardBin is the path keepalived runs the check with.
func writeKeepalivedConf(w io.Writer, cfg *config.Config, name, orchardBin string) error {
	b, err := cfg.BalancerNamed(name)
	if err != nil {
		return err
	}
	if name == "" {
		return fmt.Errorf("%s: a single balancer has no virtual address; add [balancer.vrrp] and two [[balancer.peer]]", cfg.Path)
	}
	p, err := cfg.Peer(name)
	if err != nil {
		return err
	}
	timeout := b.VRRP.CheckTimeout.Duration
	return keepalivedConf().Execute(w, keepalivedParams{
		Name:       name,
		ConfigPath: cfg.Path,
		Orchard:    orchardBin,
		ScriptUser: "root",
		Control:    b.Control,
		Interface:  b.VRRP.Interface,
		Address:    b.VRRP.Address,
		AuthPass:   keepalivedAuthPass(cfg.Secret, b.VRRP.RouterID),
		TrackFile:  trackFile(b.Data),
		Timeout:    timeout.String(),
		// keepalived kills a check that outlives its own timeout; leave
		// the check's timeout room to report first.
		ScriptTimeout: int(timeout/time.Second) + 1,
		Interval:      1,
		Advert:        int(b.VRRP.Advert.Duration / time.Second),
		RouterID:      b.VRRP.RouterID,
		Priority:      p.Priority,
	})
}

// keepalivedAuthPass derives VRRP's password from the cluster secret, so
// every peer computes the same one and none is written in the cluster
// file. VRRPv2 PASS authentication keeps 8 characters; it only keeps a
// stray router off the address, the cluster secret stays secret.
func keepalivedAuthPass(secret []byte, routerID int) string {
	m := hmac.New(sha256.New, secret)
	fmt.Fprintf(m, "orchard keepalived auth_pass router %d", routerID)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))[:8]
}

func newKeepalivedConfigCmd() *cobra.Command {
	var out, orchardBin string
	cmd := &cobra.Command{
		Use:   "keepalived-config NAME",
		Short: "Write keepalived's configuration for one balancer of a tier",
		Long: `Write keepalived.conf for the balancer NAME of the cluster file's
[[balancer.peer]] list: the virtual address, interface and router id of
[balancer.vrrp], the peer's priority, a VRRP password derived from the
cluster secret, and a health check ('orchard balancer check') of the
balancer's control listener every second, so that a dead, hung or stopping
balancer gives up the address. See docs/balancer-tier.md.`,
		Example: `  orchard balancer keepalived-config lb1 -o /etc/keepalived/keepalived.conf`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.Load(configPath(cmd))
			if err != nil {
				return usageError{err}
			}
			if orchardBin == "" {
				if orchardBin, err = os.Executable(); err != nil {
					return fmt.Errorf("path of orchard: %w (give --orchard)", err)
				}
			}
			if strings.ContainsAny(orchardBin, "\" \t\n") {
				return usagef("--orchard %q: keepalived cannot run a path with spaces or quotes", orchardBin)
			}
			var sb strings.Builder
			if err := writeKeepalivedConf(&sb, cfg, args[0], orchardBin); err != nil {
				return usageError{err}
			}
			if out == "" || out == "-" {
				_, err := io.WriteString(cmd.OutOrStdout(), sb.String())
				return err
			}
			// The file holds the VRRP password: not for everyone's eyes.
			if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
				return err
			}
			return os.WriteFile(out, []byte(sb.String()), 0o600)
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to this file (mode 0600) instead of stdout")
	cmd.Flags().StringVar(&orchardBin, "orchard", "", "path of the orchard binary keepalived runs the check with (default: this one)")
	return cmd
}

func newBalancerCheckCmd() *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "check CONTROL_ADDR",
		Short: "Exit 0 if the balancer at CONTROL_ADDR passes its health check",
		Long: `Ask the balancer's control listener for ` + orchard.HealthPath + ` and exit 0
on 200 within --timeout, 1 otherwise. keepalived runs it every second; a
balancer that is stopping answers 503, so it loses the virtual address
before it drains.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			if err := checkBalancer(ctx, args[0]); err != nil {
				cmd.SilenceUsage = true
				return err
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", time.Second, "fail when the answer takes longer")
	return cmd
}

// checkBalancer gets the health document of the balancer at addr.
func checkBalancer(ctx context.Context, addr string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+orchard.HealthPath, nil)
	if err != nil {
		return fmt.Errorf("balancer check: %w", err)
	}
	resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}).Do(req)
	if err != nil {
		return fmt.Errorf("balancer check: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("balancer check: %s answered %s", addr, resp.Status)
	}
	return nil
}
