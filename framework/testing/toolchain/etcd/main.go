// Command etcd is the etcd server v3.6 built from its published Go modules.
// The etcd root module carries replace directives, so `go install` of it fails; this wrapper
// calls the same entry point as upstream's main package.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
