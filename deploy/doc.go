// Package deploy holds riptide-poold's deployment files: the Kubernetes
// manifests (kubernetes/), the Grafana dashboard (grafana/) and the
// Prometheus alert rules (prometheus/). It has no code; its tests check
// those files against the daemon itself:
//
//   - the Dockerfile keeps its rules (pinned bases, non-root, the Makefile's
//     build, no HEALTHCHECK, ...);
//   - the ConfigMap's variables are documented ones and their values pass
//     the daemon's own configuration parser;
//   - every metric the dashboard and the rules use is one a live daemon
//     exports, and promtool accepts the scrape and the rules.
//
// The strict Kubernetes API validation of the rendered manifests lives in
// deploy/validate, a module of its own.
package deploy
