#include <array>
#include <cstdio>
#include <fstream>
#include <random>

#include "store/store_common.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace ymy::store {

namespace {
constexpr std::array<std::string_view, 4> kStatusNames = {"running", "completed", "failed", "cancelled"};
}

std::string_view executionStatusName(ExecutionStatus status) { return kStatusNames[static_cast<std::size_t>(status)]; }

std::optional<ExecutionStatus> executionStatusFromName(std::string_view name) {
  for (std::size_t i = 0; i < kStatusNames.size(); ++i) {
    if (kStatusNames[i] == name) return static_cast<ExecutionStatus>(i);
  }
  return std::nullopt;
}

Result<std::optional<Event>> lastEvent(Store& store, std::string_view executionId) {
  auto last = store.lastSeq(executionId);
  if (!last) return tl::unexpected(last.error());
  if (*last == 0) return std::optional<Event>();
  auto tail = store.eventsAfter(executionId, *last - 1, 1);
  if (!tail) return tl::unexpected(tail.error());
  if (tail->empty()) return std::optional<Event>();
  return std::optional<Event>(std::move(tail->back()));
}

std::string newId(std::string_view prefix) {
  // /dev/urandom once per thread to seed; ids only need to be unique and unguessable enough
  // that one user cannot enumerate another's (the auth work checks ownership anyway).
  thread_local std::mt19937_64 rng = [] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng()));
  return std::string(prefix) + "_" + buf;
}

namespace detail {

std::string toText(const boost::json::value& v) { return boost::json::serialize(v); }

boost::json::value fromText(const std::string& text) {
  if (text.empty()) return nullptr;
  // Deeper than any input may be (json::parse allows 64): what is stored
  // wraps what was accepted (a canvas inside a summary inside a record).
  boost::json::parse_options options;
  options.max_depth = 1024;
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec, {}, options);
  return ec ? boost::json::value(nullptr) : v;
}

boost::json::value filesToJson(const std::vector<GeneratedFile>& files) {
  boost::json::array out;
  for (const auto& f : files) out.push_back(boost::json::object{{"path", f.path}, {"content", f.content}});
  return out;
}

std::vector<GeneratedFile> filesFromJson(const boost::json::value& v) {
  std::vector<GeneratedFile> out;
  if (!v.is_array()) return out;
  for (const auto& f : v.get_array()) {
    if (!f.is_object()) continue;
    const auto& o = f.get_object();
    if (o.contains("path") && o.contains("content") && o.at("path").is_string() && o.at("content").is_string()) {
      out.push_back({std::string(o.at("path").get_string()), std::string(o.at("content").get_string())});
    }
  }
  return out;
}

tl::unexpected<Error> notFound(std::string_view what, std::string_view id) {
  return fail(ErrorCode::kNotFound, std::string(what) + " " + std::string(id) + " not found");
}

tl::unexpected<Error> seqGap(const Event& event, std::uint64_t expected) {
  return fail(ErrorCode::kInvalidArgument, "event seq " + std::to_string(event.seq) + " for " + event.executionId +
                                               " is not the next one (" + std::to_string(expected) + ")");
}

tl::unexpected<Error> leaseHeld(const Lease& holder) {
  return fail(ErrorCode::kConflict, "execution " + holder.executionId + " is leased by " + holder.owner +
                                        (holder.ownerAddress.empty() ? "" : " at " + holder.ownerAddress) +
                                        " until " + std::to_string(holder.expiresAt) + " (epoch " +
                                        std::to_string(holder.epoch) + ")");
}

tl::unexpected<Error> fenced(std::string_view executionId, const Fence& fence, const std::optional<Lease>& current) {
  std::string message = "fenced: " + fence.owner + " holds epoch " + std::to_string(fence.epoch) + " of execution " +
                        std::string(executionId) + "'s lease, ";
  if (!current) {
    message += "which has no lease";
  } else {
    message += "which is now at epoch " + std::to_string(current->epoch) + " held by " + current->owner;
  }
  return fail(ErrorCode::kConflict, std::move(message));
}

}  // namespace detail

}  // namespace ymy::store
