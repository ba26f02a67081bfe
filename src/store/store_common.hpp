#pragma once
// What the Store implementations share (internal to the store module): the
// JSON text columns, the row layouts both SQL stores select, and the error
// messages every implementation gives, so the three stores say the same thing.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "model/json_io.hpp"
#include "store/store.hpp"

namespace ymy::store::detail {

// JSON kept as text. fromText: null for an empty or unparsable column.
std::string toText(const boost::json::value& v);
boost::json::value fromText(const std::string& text);
boost::json::value filesToJson(const std::vector<GeneratedFile>& files);
std::vector<GeneratedFile> filesFromJson(const boost::json::value& v);

// kNotFound "<what> <id> not found".
tl::unexpected<Error> notFound(std::string_view what, std::string_view id);
// kInvalidArgument: the event's seq is not `expected`.
tl::unexpected<Error> seqGap(const Event& event, std::uint64_t expected);
// kConflict: `holder` has the lease and it has not expired.
tl::unexpected<Error> leaseHeld(const Lease& holder);
// kConflict "fenced: ...": `fence` is not the current epoch of the execution's
// lease (`current`, nullopt when it has none).
tl::unexpected<Error> fenced(std::string_view executionId, const Fence& fence, const std::optional<Lease>& current);
// Whether `fence` may write while the lease is `current`.
inline bool fenceHolds(const Fence& fence, const std::optional<Lease>& current) {
  return current && current->epoch == fence.epoch;
}
// Whether `owner` may take a lease that is `current` at `now`.
inline bool leaseAvailable(const std::optional<Lease>& current, std::string_view owner, std::int64_t now) {
  return !current || current->expiresAt <= now || current->owner == owner;
}

// Row readers for the SQL stores. A Row has text(i), integer(i) and isNull(i);
// the columns are in the order the comment names.

// id, name, created_at, canvas version, owner_id
template <class Row>
ProjectRecord readProject(const Row& r) {
  return ProjectRecord{r.text(0), r.text(1), r.integer(2), static_cast<int>(r.integer(3)), r.text(4)};
}

// id, project_id, request, status, options, intent, route, plan, base_canvas,
// summary, created_at, updated_at, modifications, owner_id
inline constexpr const char* kExecutionColumns =
    "id, project_id, request, status, options, intent, route, plan, base_canvas, summary, created_at, updated_at, "
    "modifications, owner_id";
template <class Row>
Result<ExecutionRecord> readExecution(const Row& r) {
  ExecutionRecord e;
  e.id = r.text(0);
  e.projectId = r.isNull(1) ? "" : r.text(1);
  e.request = r.text(2);
  e.status = executionStatusFromName(r.text(3)).value_or(ExecutionStatus::kFailed);
  e.options = fromText(r.text(4));
  e.intent = fromText(r.text(5));
  e.route = r.text(6);
  auto plan = planFromJson(fromText(r.text(7)));
  if (plan) {
    e.plan = std::move(*plan);
  } else {
    e.damage = "its stored plan cannot be read: " + plan.error().message;
  }
  auto canvas = canvasFromJson(fromText(r.text(8)));
  if (canvas) {
    e.baseCanvas = std::move(*canvas);
  } else if (e.damage.empty()) {
    e.damage = "its stored base canvas cannot be read: " + canvas.error().message;
  }
  e.summary = r.isNull(9) ? boost::json::value(nullptr) : fromText(r.text(9));
  e.createdAt = r.integer(10);
  e.updatedAt = r.integer(11);
  e.modifications = fromText(r.text(12));
  e.ownerId = r.text(13);
  return e;
}

// task_id, status, generation, result, error, output, files, canvas_patch
inline constexpr const char* kTaskColumns = "task_id, status, generation, result, error, output, files, canvas_patch";
template <class Row>
TaskRecord readTask(std::string_view executionId, const Row& r) {
  TaskRecord t;
  t.executionId = std::string(executionId);
  t.taskId = r.text(0);
  t.status = r.text(1);
  t.generation = static_cast<int>(r.integer(2));
  t.result = r.text(3);
  t.error = r.text(4);
  t.output = fromText(r.text(5));
  t.files = filesFromJson(fromText(r.text(6)));
  t.canvasPatch = fromText(r.text(7));
  return t;
}

// id, email, password_hash, tier, created_at
inline constexpr const char* kUserColumns = "id, email, password_hash, tier, created_at";
template <class Row>
UserRecord readUser(const Row& r) {
  return UserRecord{r.text(0), r.text(1), r.text(2), r.text(3), r.integer(4)};
}

// execution_id, owner, owner_address, epoch, expires_at
inline constexpr const char* kLeaseColumns = "execution_id, owner, owner_address, epoch, expires_at";
template <class Row>
Lease readLease(const Row& r) {
  return Lease{r.text(0), r.text(1), r.text(2), static_cast<std::uint64_t>(r.integer(3)), r.integer(4)};
}

}  // namespace ymy::store::detail
