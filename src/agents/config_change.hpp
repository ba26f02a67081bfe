#pragma once
// The configuration a MODIFY request asks for on one canvas node, read from
// its words: a count ("set the auth service to 4 instances", "3 read
// replicas") and a technology switch ("from MySQL to PostgreSQL", "replace
// the Kafka queue with AWS SQS", "use gRPC", "sessions in Redis"). Only what
// the request states; an empty object when it states none of these.

#include <string_view>

#include <boost/json/object.hpp>

#include "model/canvas.hpp"

namespace ymy::agents {

// The config members to set on `node` (merged over its config by the caller).
boost::json::object requestedConfigChanges(std::string_view request, const CanvasNode& node);

}  // namespace ymy::agents
