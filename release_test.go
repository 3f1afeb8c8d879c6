package orchard_test

import (
	"fmt"

	"github.com/orchardhq/orchard"
)

func ExampleFormatBytes() {
	for _, n := range []int64{0, 1023, 1024, 1536, 20 << 20, 3<<30 + 200<<20} {
		fmt.Println(orchard.FormatBytes(n))
	}
	// Output:
	// 0 B
	// 1023 B
	// 1.0 KiB
	// 1.5 KiB
	// 20.0 MiB
	// 3.2 GiB
}
