// Package e2e holds the end-to-end reliability tests of publishing (issue 4):
// whole clusters on loopback with the real release store, the real web node
// and the publish protocol, in one process (cluster_test.go) and as child
// processes of the orchard binary killed with SIGKILL (process_test.go).
// It has no code of its own besides test helpers.
package e2e
