// pause holds a network namespace and does nothing else, like Kubernetes' pause container: the edge's published
// ports and tenant network attachments live on it, so replacing Traefik (which joins its namespace) touches neither.
// It exits at once on SIGTERM/SIGINT and, as PID 1, reaps any orphaned child so none lingers as a zombie.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
