// Command mimic runs Azure's managed-identity plane locally: `mimic up`
// serves it, and the other commands are clients of a running server.
package main

import (
	"os"

	"github.com/mimic-emu/mimic/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:])) }
