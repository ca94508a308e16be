// Command stackbuild builds and caches every server and CLI of test/stack, so the
// first end-to-end test run doesn't pay for it.
//
//	go run ./test/stack/cmd/stackbuild          # build everything (make stack)
//	go run ./test/stack/cmd/stackbuild -only kubelet
//	go run ./test/stack/cmd/stackbuild -up      # also start the whole stack, print
//	                                            # its endpoints, stop on Ctrl-C
//	go run ./test/stack/cmd/stackbuild -path staticcheck  # build if needed, print its path
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/signet-dev/signet/test/stack"
)

func main() {
	up := flag.Bool("up", false, "start the whole stack after building, until interrupted")
	only := flag.String("only", "", "comma-separated tool names to build (default: all)")
	path := flag.String("path", "", "build the named tool if needed and print only its path")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *path != "" {
		printPath(ctx, *path)
		return
	}
	if err := buildLanes(ctx, *only); err != nil {
		log.Fatal(err)
	}
	if !*up {
		return
	}
	opts := stack.All
	opts.Logf = log.Printf
	t0 := time.Now()
	s, err := stack.Start(ctx, opts)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	log.Printf("stack up in %s", time.Since(t0).Round(time.Millisecond))
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(map[string]any{
		"dir": s.Dir, "registry": s.Registry.Host, "fulcio": s.Fulcio.URL, "tsa": s.TSA.URL,
		"rekor": s.Rekor.URL, "githubIssuer": s.OIDC.GitHubIssuer, "gitlabIssuer": s.OIDC.GitLabIssuer,
		"oidcCA": s.OIDC.CAFile, "kubeconfig": s.Kube.Kubeconfig, "trustedRoot": s.TrustedRootPath,
		"signingConfig": s.SigningConfigPath,
	})
	<-ctx.Done()
}

// buildLanes builds the tools (those named by only, or all), each lane
// (stack.Tool.Lane) in its own goroutine and in order within it: the peers'
// builds share no packages with the servers', so their long links overlap
// the servers' compiles instead of following them.
func buildLanes(ctx context.Context, only string) error {
	lanes := map[string][]stack.Tool{}
	var order []string
	for _, tl := range stack.Tools() {
		if only != "" && !slices.Contains(strings.Split(only, ","), tl.Name) {
			continue
		}
		if _, ok := lanes[tl.Lane()]; !ok {
			order = append(order, tl.Lane())
		}
		lanes[tl.Lane()] = append(lanes[tl.Lane()], tl)
	}
	errs := make([]error, len(order))
	var wg sync.WaitGroup
	for i, lane := range order {
		wg.Go(func() {
			for _, tl := range lanes[lane] {
				t0 := time.Now()
				path, err := tl.Ensure(ctx, log.Printf)
				if err != nil {
					errs[i] = err
					return
				}
				fmt.Printf("%-20s %-8s %s (%s)\n", tl.Name, tl.Version, path, time.Since(t0).Round(time.Millisecond))
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// printPath ensures the named tool and prints its path (make's lint).
func printPath(ctx context.Context, name string) {
	for _, tl := range stack.Tools() {
		if tl.Name == name {
			p, err := tl.Ensure(ctx, log.Printf)
			if err != nil {
				log.Fatal(err)
			}
			fmt.Println(p)
			return
		}
	}
	log.Fatalf("no tool %q", name)
}
