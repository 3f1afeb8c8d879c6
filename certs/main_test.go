package certs_test

import (
	"testing"

	"github.com/orchardhq/orchard/internal/pebbletest"
)

func TestMain(m *testing.M) { pebbletest.Main(m) }
