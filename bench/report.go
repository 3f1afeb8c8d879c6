package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// WriteSiege writes the summary in siege's layout (its labels, units and
// two-decimal numbers, so tools that read siege's output read this), then the
// latency percentiles, status codes and errors by kind that siege lacks.
func (r *Result) WriteSiege(w io.Writer) error {
	var b strings.Builder
	if r.Interrupted {
		b.WriteString("(interrupted: the summary so far)\n")
	}
	fmt.Fprintf(&b, "Transactions:\t\t%12d hits\n", r.Transactions)
	fmt.Fprintf(&b, "Availability:\t\t%12.2f %%\n", r.Availability())
	fmt.Fprintf(&b, "Elapsed time:\t\t%12.2f secs\n", r.Elapsed.Seconds())
	fmt.Fprintf(&b, "Data transferred:\t%12.2f MB\n", r.Megabytes())
	fmt.Fprintf(&b, "Response time:\t\t%12.2f secs\n", r.ResponseTime().Seconds())
	fmt.Fprintf(&b, "Transaction rate:\t%12.2f trans/sec\n", r.TransactionRate())
	fmt.Fprintf(&b, "Throughput:\t\t%12.2f MB/sec\n", r.Throughput())
	fmt.Fprintf(&b, "Concurrency:\t\t%12.2f\n", r.Concurrency())
	fmt.Fprintf(&b, "Successful transactions:%12d\n", r.Successful)
	fmt.Fprintf(&b, "Failed transactions:\t%12d\n", r.Failed)
	fmt.Fprintf(&b, "Longest transaction:\t%12.2f\n", r.Longest.Seconds())
	fmt.Fprintf(&b, "Shortest transaction:\t%12.2f\n", r.Shortest.Seconds())
	b.WriteString("\n")
	if r.Rate > 0 {
		fmt.Fprintf(&b, "Target rate:\t\t%12.2f req/sec (latency from intended start)\n", r.Rate)
	}
	l := r.Latency
	fmt.Fprintf(&b, "Latency p50:\t\t%12s\n", ms(l.P50))
	fmt.Fprintf(&b, "Latency p90:\t\t%12s\n", ms(l.P90))
	fmt.Fprintf(&b, "Latency p99:\t\t%12s\n", ms(l.P99))
	fmt.Fprintf(&b, "Latency p99.9:\t\t%12s\n", ms(l.P999))
	fmt.Fprintf(&b, "Latency max:\t\t%12s\n", ms(l.Max))
	b.WriteString("Status codes:\t\t")
	codes := make([]int, 0, len(r.Status))
	for c := range r.Status {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	if len(codes) == 0 {
		b.WriteString("        none")
	}
	for i, c := range codes {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d: %d", c, r.Status[c])
	}
	b.WriteString("\n")
	e := r.Errors
	fmt.Fprintf(&b, "Errors:\t\t\trefused %d, reset %d, timeout %d, other %d, non-2xx/3xx %d\n",
		e.Refused, e.Reset, e.Timeout, e.Other, e.Status)
	for _, s := range r.FirstErrors {
		fmt.Fprintf(&b, "  e.g. %s\n", s)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ms formats d in milliseconds with three decimals.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond))
}

// jsonResult is the JSON form: siege's keys and units (seconds, MB) first,
// then the fields siege lacks.
type jsonResult struct {
	Transactions           int64            `json:"transactions"`
	Availability           float64          `json:"availability"`
	ElapsedTime            float64          `json:"elapsed_time"`
	DataTransferred        float64          `json:"data_transferred"`
	ResponseTime           float64          `json:"response_time"`
	TransactionRate        float64          `json:"transaction_rate"`
	Throughput             float64          `json:"throughput"`
	Concurrency            float64          `json:"concurrency"`
	SuccessfulTransactions int64            `json:"successful_transactions"`
	FailedTransactions     int64            `json:"failed_transactions"`
	LongestTransaction     float64          `json:"longest_transaction"`
	ShortestTransaction    float64          `json:"shortest_transaction"`
	Users                  int              `json:"users"`
	TargetRate             float64          `json:"target_rate,omitempty"`
	Responses              int64            `json:"responses"`
	Bytes                  int64            `json:"bytes"`
	LatencyMs              jsonLatency      `json:"latency_ms"`
	StatusCodes            map[string]int64 `json:"status_codes"`
	Errors                 Errors           `json:"errors"`
	ErrorSamples           []string         `json:"error_samples,omitempty"`
	Interrupted            bool             `json:"interrupted"`
}

type jsonLatency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// MarshalJSON encodes the result with siege's JSON keys plus orchard's
// latency percentiles (milliseconds), status codes and errors by kind.
func (r *Result) MarshalJSON() ([]byte, error) {
	msf := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	codes := map[string]int64{}
	for c, n := range r.Status {
		codes[fmt.Sprint(c)] = n
	}
	return json.Marshal(jsonResult{
		Transactions:           r.Transactions,
		Availability:           r.Availability(),
		ElapsedTime:            r.Elapsed.Seconds(),
		DataTransferred:        r.Megabytes(),
		ResponseTime:           r.ResponseTime().Seconds(),
		TransactionRate:        r.TransactionRate(),
		Throughput:             r.Throughput(),
		Concurrency:            r.Concurrency(),
		SuccessfulTransactions: r.Successful,
		FailedTransactions:     r.Failed,
		LongestTransaction:     r.Longest.Seconds(),
		ShortestTransaction:    r.Shortest.Seconds(),
		Users:                  r.Users,
		TargetRate:             r.Rate,
		Responses:              r.Responses,
		Bytes:                  r.Bytes,
		LatencyMs: jsonLatency{
			P50: msf(r.Latency.P50), P90: msf(r.Latency.P90), P99: msf(r.Latency.P99),
			P999: msf(r.Latency.P999), Max: msf(r.Latency.Max), Mean: msf(r.Latency.Mean),
		},
		StatusCodes:  codes,
		Errors:       r.Errors,
		ErrorSamples: r.FirstErrors,
		Interrupted:  r.Interrupted,
	})
}

// WriteJSON writes the result as indented JSON followed by a newline.
func (r *Result) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
