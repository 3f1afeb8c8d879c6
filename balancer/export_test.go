package balancer

// LoopCounts reports the requests the event loops answered themselves
// and the connections they handed to a goroutine.
func LoopCounts(b *Balancer) (served, handed uint64) {
	return b.fast.loopServed.Load(), b.fast.loopHanded.Load()
}
