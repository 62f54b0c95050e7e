// Package synctest runs real engine replicas against the real sync server:
// convergence under random offline periods and a server restart, clock
// limits, resync, and the push/pull benchmarks. The Go client's transport
// is engine/replica/replicahttp.
package synctest
