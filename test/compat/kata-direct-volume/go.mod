module passvol.test/katacompat

go 1.22

// Kata's Go runtime at a pseudo-version that a released consumer (cri-o) pins, so the public module
// proxy serves it and sum.golang.org knows it. Only pkg/direct-volume is compiled; it imports nothing
// but the standard library, and with module graph pruning (go >= 1.17 on both sides) this module's
// zip (~1.5 MB) and go.mod are all a build downloads. go.sum also lists the modules of Kata's
// package test (testify and its deps), which `go mod tidy` records; a build never fetches them.
require github.com/kata-containers/kata-containers/src/runtime v0.0.0-20240208092920-b99f57452225
