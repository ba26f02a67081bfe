// The in-memory Store: the same contract as SQLite, for tests and for runs
// that need no durability.

#include <algorithm>
#include <map>
#include <mutex>

#include "store/store_common.hpp"

namespace ymy::store {

namespace {

using detail::notFound;

class MemoryStore final : public Store {
 public:
  Result<ProjectRecord> createProject(const std::string& name, const Canvas& canvas, std::int64_t now,
                                      std::string_view ownerId) override {
    std::lock_guard lock(mutex_);
    ProjectRecord p{newId("prj"), name, now, 1, std::string(ownerId)};
    projects_[p.id] = Project{p, {canvas}};
    order_.push_back(p.id);
    return p;
  }
  Result<std::vector<ProjectRecord>> listProjects(std::optional<std::string_view> ownerId) override {
    std::lock_guard lock(mutex_);
    std::vector<ProjectRecord> out;
    for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
      const auto& record = projects_.at(*it).record;
      if (!ownerId || record.ownerId == *ownerId) out.push_back(record);
    }
    return out;
  }
  Result<ProjectRecord> getProject(std::string_view id) override {
    std::lock_guard lock(mutex_);
    auto it = projects_.find(std::string(id));
    if (it == projects_.end()) return notFound("project", id);
    return it->second.record;
  }
  Result<int> saveCanvas(std::string_view projectId, const Canvas& canvas, std::int64_t) override {
    std::lock_guard lock(mutex_);
    auto it = projects_.find(std::string(projectId));
    if (it == projects_.end()) return notFound("project", projectId);
    it->second.canvases.push_back(canvas);
    it->second.record.canvasVersion = static_cast<int>(it->second.canvases.size());
    return it->second.record.canvasVersion;
  }
  Result<Canvas> getCanvas(std::string_view projectId, std::optional<int> version) override {
    std::lock_guard lock(mutex_);
    auto it = projects_.find(std::string(projectId));
    if (it == projects_.end()) return notFound("project", projectId);
    const auto& versions = it->second.canvases;
    int v = version.value_or(static_cast<int>(versions.size()));
    if (v < 1 || v > static_cast<int>(versions.size())) {
      return fail(ErrorCode::kNotFound, "project " + std::string(projectId) + " has no canvas version " + std::to_string(v));
    }
    return versions[static_cast<std::size_t>(v - 1)];
  }

  Result<void> createExecution(const ExecutionRecord& e) override {
    std::lock_guard lock(mutex_);
    if (!executions_.emplace(e.id, e).second) return fail(ErrorCode::kInvalidArgument, "execution " + e.id + " exists");
    return {};
  }
  Result<void> finishExecution(std::string_view id, ExecutionStatus status, const boost::json::value& summary,
                               std::int64_t now, const Fence* fence) override {
    std::lock_guard lock(mutex_);
    if (auto ok = checkFence(id, fence); !ok) return ok;
    auto it = executions_.find(std::string(id));
    if (it == executions_.end()) return notFound("execution", id);
    it->second.status = status;
    it->second.summary = summary;
    it->second.updatedAt = now;
    return {};
  }
  Result<void> savePlan(std::string_view id, const Plan& plan, const boost::json::value& modifications,
                        std::int64_t now, const Fence* fence) override {
    std::lock_guard lock(mutex_);
    if (auto ok = checkFence(id, fence); !ok) return ok;
    auto it = executions_.find(std::string(id));
    if (it == executions_.end()) return notFound("execution", id);
    it->second.plan = plan;
    it->second.modifications = modifications;
    it->second.updatedAt = now;
    return {};
  }
  Result<ExecutionRecord> getExecution(std::string_view id) override {
    std::lock_guard lock(mutex_);
    auto it = executions_.find(std::string(id));
    if (it == executions_.end()) return notFound("execution", id);
    return it->second;
  }
  Result<std::vector<ExecutionRecord>> unfinishedExecutions() override {
    std::lock_guard lock(mutex_);
    std::vector<ExecutionRecord> out;
    for (const auto& [id, e] : executions_) {
      if (e.status == ExecutionStatus::kRunning) out.push_back(e);
    }
    return out;
  }

  Result<void> saveTask(const TaskRecord& task, const Fence* fence) override {
    std::lock_guard lock(mutex_);
    if (auto ok = checkFence(task.executionId, fence); !ok) return ok;
    tasks_[task.executionId][task.taskId] = task;
    return {};
  }
  Result<std::vector<TaskRecord>> tasks(std::string_view executionId) override {
    std::lock_guard lock(mutex_);
    std::vector<TaskRecord> out;
    if (auto it = tasks_.find(std::string(executionId)); it != tasks_.end()) {
      for (const auto& [id, t] : it->second) out.push_back(t);
    }
    return out;
  }

  Result<void> appendEvent(const Event& event, const Fence* fence) override {
    std::lock_guard lock(mutex_);
    if (auto ok = checkFence(event.executionId, fence); !ok) return ok;
    auto& log = events_[event.executionId];
    std::uint64_t expected = log.empty() ? 1 : log.back().seq + 1;
    if (event.seq != expected) return detail::seqGap(event, expected);
    log.push_back(event);
    return {};
  }
  Result<std::vector<Event>> eventsAfter(std::string_view executionId, std::uint64_t after, std::size_t limit) override {
    std::lock_guard lock(mutex_);
    std::vector<Event> out;
    auto it = events_.find(std::string(executionId));
    if (it == events_.end()) return out;
    for (const auto& e : it->second) {
      if (e.seq > after && out.size() < limit) out.push_back(e);
    }
    return out;
  }
  Result<std::uint64_t> lastSeq(std::string_view executionId) override {
    std::lock_guard lock(mutex_);
    auto it = events_.find(std::string(executionId));
    return it == events_.end() || it->second.empty() ? 0 : it->second.back().seq;
  }

  Result<void> saveFiles(std::string_view executionId, const std::vector<GeneratedFile>& files,
                         const Fence* fence) override {
    std::lock_guard lock(mutex_);
    if (auto ok = checkFence(executionId, fence); !ok) return ok;
    files_[std::string(executionId)] = files;
    return {};
  }
  Result<std::vector<GeneratedFile>> files(std::string_view executionId) override {
    std::lock_guard lock(mutex_);
    auto it = files_.find(std::string(executionId));
    return it == files_.end() ? std::vector<GeneratedFile>{} : it->second;
  }

  Result<void> createUser(const UserRecord& user) override {
    std::lock_guard lock(mutex_);
    if (usersByEmail_.count(user.email) != 0) return fail(ErrorCode::kConflict, "email " + user.email + " is already registered");
    if (users_.count(user.id) != 0) return fail(ErrorCode::kConflict, "user " + user.id + " exists");
    users_[user.id] = user;
    usersByEmail_[user.email] = user.id;
    return {};
  }
  Result<UserRecord> findUserByEmail(std::string_view email) override {
    std::lock_guard lock(mutex_);
    auto it = usersByEmail_.find(std::string(email));
    if (it == usersByEmail_.end()) return fail(ErrorCode::kNotFound, "no user with email " + std::string(email));
    return users_.at(it->second);
  }
  Result<UserRecord> findUserById(std::string_view id) override {
    std::lock_guard lock(mutex_);
    auto it = users_.find(std::string(id));
    if (it == users_.end()) return notFound("user", id);
    return it->second;
  }
  Result<void> setUserTier(std::string_view id, std::string_view tier) override {
    std::lock_guard lock(mutex_);
    auto it = users_.find(std::string(id));
    if (it == users_.end()) return notFound("user", id);
    it->second.tier = std::string(tier);
    return {};
  }
  Result<void> setUserPasswordHash(std::string_view id, std::string_view passwordHash) override {
    std::lock_guard lock(mutex_);
    auto it = users_.find(std::string(id));
    if (it == users_.end()) return notFound("user", id);
    it->second.passwordHash = std::string(passwordHash);
    return {};
  }

  Result<Lease> acquireLease(std::string_view executionId, std::string_view owner, std::string_view ownerAddress,
                             std::int64_t now, std::int64_t ttlMs) override {
    std::lock_guard lock(mutex_);
    const auto current = leaseOf(executionId);
    if (!detail::leaseAvailable(current, owner, now)) return detail::leaseHeld(*current);
    Lease lease{std::string(executionId), std::string(owner), std::string(ownerAddress),
                current ? current->epoch + 1 : 1, now + ttlMs};
    leases_[lease.executionId] = lease;
    return lease;
  }
  Result<Lease> renewLease(std::string_view executionId, const Fence& fence, std::int64_t now,
                           std::int64_t ttlMs) override {
    std::lock_guard lock(mutex_);
    if (auto ok = checkFence(executionId, &fence); !ok) return tl::unexpected(ok.error());
    auto& lease = leases_.at(std::string(executionId));
    lease.expiresAt = now + ttlMs;
    return lease;
  }
  Result<void> releaseLease(std::string_view executionId, const Fence& fence) override {
    std::lock_guard lock(mutex_);
    if (auto ok = checkFence(executionId, &fence); !ok) return ok;
    leases_.at(std::string(executionId)).expiresAt = 0;
    return {};
  }
  Result<std::optional<Lease>> getLease(std::string_view executionId) override {
    std::lock_guard lock(mutex_);
    return leaseOf(executionId);
  }
  Result<std::vector<std::string>> orphanedExecutions(std::int64_t now, std::int64_t graceMs) override {
    std::lock_guard lock(mutex_);
    std::vector<const ExecutionRecord*> orphans;
    for (const auto& [id, e] : executions_) {
      if (e.status != ExecutionStatus::kRunning) continue;
      const auto lease = leaseOf(id);
      if (lease ? lease->expiresAt <= now : e.updatedAt < now - graceMs) orphans.push_back(&e);
    }
    std::stable_sort(orphans.begin(), orphans.end(),
                     [](const auto* a, const auto* b) { return a->createdAt < b->createdAt; });
    std::vector<std::string> out;
    for (const auto* e : orphans) out.push_back(e->id);
    return out;
  }

 private:
  // Requires mutex_.
  std::optional<Lease> leaseOf(std::string_view executionId) const {
    auto it = leases_.find(std::string(executionId));
    return it == leases_.end() ? std::nullopt : std::optional<Lease>(it->second);
  }
  // Requires mutex_. No fence: always writable.
  Result<void> checkFence(std::string_view executionId, const Fence* fence) const {
    if (fence == nullptr) return {};
    const auto current = leaseOf(executionId);
    if (!detail::fenceHolds(*fence, current)) return detail::fenced(executionId, *fence, current);
    return {};
  }

  struct Project {
    ProjectRecord record;
    std::vector<Canvas> canvases;
  };
  std::mutex mutex_;
  std::map<std::string, Project> projects_;                            // guarded by mutex_
  std::vector<std::string> order_;                                     // guarded by mutex_
  std::map<std::string, ExecutionRecord> executions_;                  // guarded by mutex_
  std::map<std::string, std::map<std::string, TaskRecord>> tasks_;     // guarded by mutex_
  std::map<std::string, std::vector<Event>> events_;                   // guarded by mutex_
  std::map<std::string, std::vector<GeneratedFile>> files_;            // guarded by mutex_
  std::map<std::string, UserRecord> users_;                            // guarded by mutex_; by id
  std::map<std::string, std::string> usersByEmail_;                    // guarded by mutex_; email -> id
  std::map<std::string, Lease> leases_;                                // guarded by mutex_; by execution id
};

}  // namespace

std::unique_ptr<Store> makeMemoryStore() { return std::make_unique<MemoryStore>(); }

}  // namespace ymy::store
