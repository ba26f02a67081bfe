#pragma once
// REPLACE_COMPONENT: the merger strategy for scaling one component of an
// existing canvas instead of merging a whole design (SPEC-flow-examples,
// Example 2, Phase 4). The target node is replaced by its scaled version, the
// callers are rewired to a load balancer in front of it, and the supporting
// pieces (session store, cache, read replicas, monitoring) are added around it.
//
// The work is measured against a list of REQUIRED ELEMENTS, derived from the
// ScaledComponent and the input canvas:
//   - the target's config holding every key of the scaled config (one element);
//   - each requested node: the load balancer, the session store, the cache,
//     each read replica, the monitoring node;
//   - each required edge: <lb> -> target, every caller edge moved from the
//     target to <lb>, target -> sessions, target -> cache, <db> -> replica and
//     target -> replica for each replica, monitoring -> target.
// (The database's config "replicas" is also raised to the replica count, as
// bookkeeping outside the required elements.)
// A node counts as present when it exists and holds its config keys; an edge
// when an edge with the same (source, target, type) exists (a moved caller
// edge: and no longer also points at the target).
//
// It runs in iterations:
//   1. the scaled node, the load balancer with its routes edge and the moved
//      caller edges, the session store with its edge (as the spec);
//   then a rule-based missing-piece analysis of that canvas fills `missing`;
//   2. everything still absent that can be built (replicas and their edges,
//      cache and edge, monitoring and its scrapes edge). A further iteration
//      runs only if one left something buildable behind (at most 3 in all).
// Accuracy = present required elements * 100 / required elements, rounded
// down, so 100 means everything asked for is on the canvas.
//
// Node ids and reuse:
//   - load balancer: a load_balancer node with an edge to the target (the one
//     already in front) is reused, else "<target>-lb" ("Load Balancer (NGINX)");
//   - monitoring: an existing monitoring node (the one with an edge to the
//     target first) is reused, else "monitoring";
//   - the database of the target: the first node of a database-like type
//     (database, *sql*, postgres*, mongo*, maria*) joined to it by an edge,
//     target -> db edges first, read replicas (config role "read-replica")
//     never; replicas are "<db>-replica-1", "<db>-replica-2", ...
//   - a wanted id held by a node of another type gets "-2", "-3", ... instead.
// The target's config gets, on top of `config`: "instances" (always, from
// `instances`), and where `config` does not set them, "load_balancer",
// "session_store", "caching" and "database" describing what was added.
//
// Callers are the sources of edges into the target whose type is a frontend,
// cdn, gateway or service (layerOf <= 3, not load_balancer, monitoring or
// database-like). A caller edge is moved by id; if the caller already has the
// same edge to the load balancer, the two merge and the moved id disappears
// (it is then not listed in `rewired`, and applyPatch may number a new edge
// of the same change with it).
//
// Pure function of its inputs; thread-safe.

#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "merger/patch.hpp"
#include "model/canvas.hpp"
#include "model/error.hpp"

namespace ymy::merger {

struct ScaledComponent {
  std::string target;          // id of the canvas node to replace with its scaled version
  boost::json::object config;  // merged into that node's config (session_store, database, estimated_capacity, ...)
  int instances = 1;           // >= 1; written to config "instances"
  bool loadBalancer = false;   // put a load balancer in front and move the callers to it
  int sessionNodes = 0;        // > 0: "<target>-sessions" (cache, "Redis Cluster (N nodes)", role "sessions")
  int cacheNodes = 0;          // > 0: "<target>-cache" (cache, role "cache")
  int readReplicas = 0;        // read replicas of the target's database, "<db>-replica-1", ...
  bool monitoring = true;      // a monitoring node that scrapes the target
};

struct ReplaceOutcome {
  Canvas canvas;      // the input canvas with the change merged
  CanvasPatch patch;  // the same change: applyPatch(input, patch) turns the input into `canvas`.
                      // New edges carry empty ids (applyPatch numbers them); moved edges their own.
  std::vector<std::string> added, updated;  // node ids, in canvas order
  std::vector<std::string> rewired;         // ids of edges whose ends moved
  std::vector<std::string> missing;         // the missing-piece analysis after iteration 1, in words
  int iterations = 0;                       // iterations run (1 when iteration 1 left nothing to add)
  int firstAccuracy = 0;                    // % of required elements present after iteration 1
  int accuracy = 0;                         // % at the end
};

// kNotFound when the target is not on the canvas; kInvalidArgument when
// instances < 1 or a node count is negative.
Result<ReplaceOutcome> replaceComponent(const Canvas& canvas, const ScaledComponent& scaled);

}  // namespace ymy::merger
