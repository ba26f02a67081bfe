#pragma once
// Internal helpers shared by the builtin agents.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agents/builtin.hpp"
#include "agents/design.hpp"

namespace ymy::agents::detail {

// "loyalty points" -> "loyalty-points"
std::string slug(std::string_view text);
// "loyalty points" -> "Loyalty Points"
std::string titleCase(std::string_view text);
bool containsWord(std::string_view haystack, std::string_view needle);  // case-insensitive substring
// A node that runs application code ("service", "microservice", "worker",
// ...): anything but the data stores, queues and edge infrastructure.
bool isServiceNode(const CanvasNode& node);
// The canvas node that already realises catalog component `c`: by id,
// config.component, or what its label or id names. nullptr when none does.
const CanvasNode* canvasNodeFor(const AgentEnvironment& env, const Canvas& canvas, const Component& c);

// What an agent returns when its run was cancelled.
inline tl::unexpected<Error> cancelled() { return fail(ErrorCode::kInternal, "cancelled"); }

// Work split into equal steps: progress text, then a share of the simulated time.
bool step(executor::TaskContext& ctx, std::string text, double fraction);

// The catalog services a prompt asks for, then its unknown features, in order.
struct PromptServices {
  std::vector<const Component*> services;
  std::vector<const Component*> infrastructure;
  std::vector<std::string> features;
};
PromptServices servicesInPrompt(const AgentEnvironment& env, std::string_view prompt);

// The service spec code generation needs, from the architecture's plan, the
// schema's tables owned by it (or the catalog's), the catalog's endpoints, and
// the stack the run's preferences ask for (codeStackFor).
codegen::ServiceSpec serviceSpec(const AgentEnvironment& env, const ServicePlan& plan, const Schema* schema,
                                 const std::vector<std::string>& preferences = {});

// The codegen stack for a run's preferences (canonical names from
// context::detectStack): the first preference naming a backend language or
// framework decides; a Python one ("Python", "FastAPI", "Django", "Flask")
// gives codegen::kPythonFastapi, anything else, or none, kNodeExpress.
std::string codeStackFor(const std::vector<std::string>& preferences);

// The architecture to use when no arch-001 ancestor produced one: the
// services of the canvas and the frame, as the catalog describes them.
Architecture fallbackArchitecture(const AgentEnvironment& env, const executor::ExecutionInput& input);

// The newest architecture among the context's completed ancestors, else
// fallbackArchitecture: what run() and flow() of later agents design against.
Architecture architectureFor(const AgentEnvironment& env, const executor::TaskContext& context);

// The canvas node a static-path task is about: the frame's target.
std::string targetNode(const executor::ExecutionInput& input);

// The load a static-path run sizes for: the request's RPS, else derived from
// its users or connections, else 1000.
double targetRps(const executor::ExecutionInput& input);

// The sizing a cap-001 ancestor produced (its output["capacity"]), if any.
std::optional<boost::json::object> capacityOf(const executor::TaskContext& ctx);

}  // namespace ymy::agents::detail
