// katacompat runs Kata Containers' own direct-volume code (github.com/kata-containers/kata-containers/
// src/runtime/pkg/direct-volume) from the command line, so passvol's tests can compare what Kata writes
// and reads with what passvol does. Kata's root is fixed in its package
// (/run/kata-containers/shared/direct-volumes), so every command acts on the real root.
//
//	katacompat add <volumePath> <mountInfoJSON>
//	katacompat remove <volumePath>
//	katacompat record-sandbox <sandboxId> <volumePath>
//	katacompat sandbox-of <volumePath>
//	katacompat mount-info <volumePath>
//
// On failure it prints the error on stderr and exits non-zero.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	volume "github.com/kata-containers/kata-containers/src/runtime/pkg/direct-volume"
)

const usage = `usage:
  katacompat add <volumePath> <mountInfoJSON>
  katacompat remove <volumePath>
  katacompat record-sandbox <sandboxId> <volumePath>
  katacompat sandbox-of <volumePath>
  katacompat mount-info <volumePath>`

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "katacompat: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("no command\n%s", usage)
	}
	cmd, rest := args[0], args[1:]
	want := map[string]int{"add": 2, "remove": 1, "record-sandbox": 2, "sandbox-of": 1, "mount-info": 1}
	n, ok := want[cmd]
	if !ok {
		return fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
	if len(rest) != n {
		return fmt.Errorf("%s takes %d argument(s), got %d\n%s", cmd, n, len(rest), usage)
	}
	switch cmd {
	case "add":
		return volume.Add(rest[0], rest[1])
	case "remove":
		return volume.Remove(rest[0])
	case "record-sandbox":
		return volume.RecordSandboxId(rest[0], rest[1])
	case "sandbox-of":
		id, err := volume.GetSandboxIdForVolume(rest[0])
		if err != nil {
			return err
		}
		fmt.Println(id)
		return nil
	default: // mount-info
		info, err := volume.VolumeMountInfo(rest[0])
		if err != nil {
			return err
		}
		out, err := json.Marshal(info)
		if err != nil {
			return err
		}
		fmt.Println(string(out))
		return nil
	}
}
