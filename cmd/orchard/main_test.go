package main

import (
	"testing"

	"github.com/orchardhq/orchard/internal/pebbletest"
)

// TestMain removes the Pebble binary the ACME tests build.
func TestMain(m *testing.M) { pebbletest.Main(m) }
