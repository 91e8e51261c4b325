package main

import (
	"fmt"
	"io"
	"runtime"
)

func versionCommand(stdout io.Writer) int {
	fmt.Fprintf(stdout, "station %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return 0
}
