package bench_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/orchardhq/orchard/bench"
)

func TestWriteSiege(t *testing.T) {
	tg := newTarget(t)
	r := mustRun(t, context.Background(), bench.Config{URLs: tg.urls("/ok", "/error"), Concurrency: 2, Reps: 4})
	var b strings.Builder
	if err := r.WriteSiege(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, line := range []string{
		"Transactions:\t\t           4 hits\n",
		"Availability:\t\t       50.00 %\n",
		"Elapsed time:\t\t",
		"Data transferred:\t",
		"Response time:\t\t",
		"Transaction rate:\t",
		"Throughput:\t\t",
		"Concurrency:\t\t",
		"Successful transactions:           4\n",
		"Failed transactions:\t           4\n",
		"Longest transaction:\t",
		"Shortest transaction:\t",
		"Latency p50:", "Latency p90:", "Latency p99:", "Latency p99.9:",
		"Status codes:\t\t200: 4, 503: 4\n",
		"Errors:\t\t\trefused 0, reset 0, timeout 0, other 0, non-2xx/3xx 4\n",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("summary lacks %q:\n%s", line, out)
		}
	}
}

func TestResultJSON(t *testing.T) {
	tg := newTarget(t)
	r := mustRun(t, context.Background(), bench.Config{URLs: tg.urls("/ok", "/missing"), Concurrency: 1, Reps: 4})
	var b strings.Builder
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(b.String()), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b.String())
	}
	// siege's keys, then orchard's.
	for _, k := range []string{"transactions", "availability", "elapsed_time", "data_transferred", "response_time",
		"transaction_rate", "throughput", "concurrency", "successful_transactions", "failed_transactions",
		"longest_transaction", "shortest_transaction", "latency_ms", "status_codes", "errors", "interrupted"} {
		if _, ok := got[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	if got["transactions"] != 4.0 || got["successful_transactions"] != 2.0 || got["availability"] != 100.0 {
		t.Errorf("transactions %v successful %v availability %v, want 4, 2, 100", got["transactions"], got["successful_transactions"], got["availability"])
	}
	if sc := got["status_codes"].(map[string]any); sc["200"] != 2.0 || sc["404"] != 2.0 {
		t.Errorf("status_codes = %v", sc)
	}
	if e := got["errors"].(map[string]any); e["non_2xx_3xx"] != 2.0 {
		t.Errorf("errors = %v", e)
	}
}
