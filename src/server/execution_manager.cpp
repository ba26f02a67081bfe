#include "server/execution_manager.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include <spdlog/spdlog.h>

#include "model/json_io.hpp"

namespace ymy::server {

namespace {

// Where a task's model usage is kept in its stored output (removed again when
// it is read back, so agents never see it).
constexpr std::string_view kStoredUsageKey = "llmUsage";

// How a run ended, from its executionSummary event's fields.
store::ExecutionStatus statusOfSummary(const boost::json::object& fields) {
  auto flag = [&](const char* name) {
    const auto* v = fields.if_contains(name);
    return v && v->is_bool() && v->get_bool();
  };
  return flag("success")     ? store::ExecutionStatus::kCompleted
         : flag("cancelled") ? store::ExecutionStatus::kCancelled
                             : store::ExecutionStatus::kFailed;
}

// Executor events into the bus through the run's writer: logged, then fanned
// out; held in order while the store is away.
class BusSink final : public executor::EventSink {
 public:
  explicit BusSink(ExecutionWriter& writer) : writer_(writer) {}
  void publish(const Event& event) override { writer_.publish(event); }

 private:
  ExecutionWriter& writer_;
};

// Persists each finished task with what a resumed run needs from it, and
// each modification (the plan's new prompt, the history, the tasks reset).
class TaskPersister final : public executor::TaskObserver {
 public:
  TaskPersister(ExecutionWriter& writer, Clock& clock, std::string executionId)
      : writer_(writer), clock_(clock), executionId_(std::move(executionId)) {}

  void assembled(const executor::Assembly& assembly) override {
    writer_.write("files", [id = executionId_, files = assembly.files](store::Store& s, const store::Fence* f) {
      return s.saveFiles(id, files, f);
    });
  }

  void planModified(const Plan& plan, const executor::ModificationHistory& history,
                    const std::vector<std::string>& reset) override {
    writer_.write("plan", [id = executionId_, plan, history = executor::toJson(history), now = clock_.epochMillis()](
                              store::Store& s, const store::Fence* f) { return s.savePlan(id, plan, history, now, f); });
    for (const auto& id : reset) {
      store::TaskRecord r;
      r.executionId = executionId_;
      r.taskId = id;
      r.status = "pending";  // its earlier result no longer stands; a resumed run runs it again
      save(std::move(r));
    }
  }

  void taskFinished(const Task& task, executor::TaskStatus status, int generation, const executor::TaskResult* result,
                    const std::string& error) override {
    store::TaskRecord r;
    r.executionId = executionId_;
    r.taskId = task.id;
    r.status = std::string(executor::taskStatusName(status));
    r.generation = generation;
    r.error = error;
    if (result) {
      r.result = result->summary;
      r.output = result->output;
      // The run's model tokens, for a resumed execution's summary.
      if (result->llm) r.output.as_object()[kStoredUsageKey] = toJson(*result->llm);
      r.files = result->files;
      r.canvasPatch = boost::json::object{
          {"upserts", toJson(result->canvasUpdate)},
          {"removeNodes", boost::json::array(result->removeNodes.begin(), result->removeNodes.end())}};
    }
    save(std::move(r));
  }

 private:
  void save(store::TaskRecord r) {
    auto what = "task " + r.taskId;
    writer_.write(std::move(what), [r = std::move(r)](store::Store& s, const store::Fence* f) { return s.saveTask(r, f); });
  }

  ExecutionWriter& writer_;
  Clock& clock_;
  std::string executionId_;
};

executor::TaskResult resultFromRecord(const store::TaskRecord& r) {
  executor::TaskResult result;
  result.summary = r.result;
  if (r.output.is_object()) result.output = r.output.get_object();
  if (auto it = result.output.find(kStoredUsageKey); it != result.output.end()) {
    result.llm = llmStageUsageFromJson(it->value());
    result.output.erase(it);
  }
  result.files = r.files;
  if (r.canvasPatch.is_object()) {
    const auto& patch = r.canvasPatch.get_object();
    if (auto it = patch.find("upserts"); it != patch.end()) {
      if (auto canvas = canvasPatchFromJson(it->value())) result.canvasUpdate = std::move(*canvas);
    }
    if (auto it = patch.find("removeNodes"); it != patch.end() && it->value().is_array()) {
      for (const auto& n : it->value().get_array()) {
        if (n.is_string()) result.removeNodes.emplace_back(n.get_string());
      }
    }
  }
  return result;
}

}  // namespace

ExecutionManager::ExecutionManager(const engine::Engine& engine, store::Store& store, bus::EventBus& bus, Clock& clock,
                                   executor::ModificationPolicy modification, cache::DesignCache* cache,
                                   engine::LlmPlanStage llmPlan, agents::LlmAgentStage llmAgents,
                                   engine::LlmIntentStage llmIntent)
    : engine_(engine),
      store_(store),
      bus_(bus),
      clock_(clock),
      modification_(std::move(modification)),
      cache_(cache),
      llmPlan_(std::move(llmPlan)),
      llmAgents_(std::move(llmAgents)),
      llmIntent_(std::move(llmIntent)) {}

ExecutionManager::~ExecutionManager() { shutdown("server stopping"); }

namespace {

boost::json::array keysJson(const std::vector<cache::CacheKey>& keys) {
  boost::json::array out;
  for (const auto& k : keys) out.emplace_back(k.hex());
  return out;
}

std::vector<cache::CacheKey> keysFromJson(const boost::json::value& options) {
  std::vector<cache::CacheKey> keys;
  const auto* o = options.if_object();
  const auto* list = o ? o->if_contains("cacheKeys") : nullptr;
  if (list == nullptr || !list->is_array()) return keys;
  for (const auto& k : list->get_array()) {
    if (!k.is_string()) continue;
    if (auto key = cache::CacheKey::fromHex(k.get_string())) keys.push_back(*key);
  }
  return keys;
}

std::string stringField(const boost::json::value& v, std::string_view key) {
  const auto* o = v.if_object();
  const auto* f = o ? o->if_contains(key) : nullptr;
  return f && f->is_string() ? std::string(f->get_string()) : std::string();
}

}  // namespace

Result<StartedExecution> ExecutionManager::start(const DesignRequest& r) {
  std::optional<Canvas> canvas = r.canvas;
  std::string canvasVersion;
  if (!r.projectId.empty()) {
    auto project = store_.getProject(r.projectId);
    if (!project) return tl::unexpected(project.error());
    if (!canvas) {
      auto latest = store_.getCanvas(r.projectId);
      if (!latest) return tl::unexpected(latest.error());
      canvas = std::move(*latest);
      canvasVersion = r.projectId + "@" + std::to_string(project->canvasVersion);
    }
  }

  if (r.maxConcurrent > 0) {
    std::lock_guard lock(mutex_);
    // A run whose summary is out no longer counts, though finish() may still be storing it.
    const auto mine = static_cast<std::size_t>(std::count_if(running_.begin(), running_.end(), [&](const auto& entry) {
      return entry.second->owner == r.tenant && !entry.second->design->execution().finished();
    }));
    if (mine >= r.maxConcurrent) {
      return fail(ErrorCode::kTooSoon, "you have " + std::to_string(mine) + " design" + (mine == 1 ? "" : "s") +
                                           " running; your tier allows " + std::to_string(r.maxConcurrent) +
                                           " at once (wait for one to finish, or cancel it)");
    }
  }

  std::optional<CacheEntry> entry;
  std::string staleId;  // an answer found gone, counted once whichever keys lead to it
  if (cache_ && r.useCache) {
    entry.emplace();
    entry->scope.engineVersion = engine_.version();
    // A model's plans and files are not the builtin engine's: keep their answers apart.
    if (llmPlan_.provider) {
      entry->scope.engineVersion += std::string("+plan:") + llm::providerKindName(llmPlan_.config.kind) + ":" +
                                    llmPlan_.config.model;
    }
    if (llmIntent_.provider) {
      entry->scope.engineVersion += std::string("+intent:") + llm::providerKindName(llmIntent_.config.kind) + ":" +
                                    llmIntent_.config.model;
    }
    if (llmAgents_.provider) {
      entry->scope.engineVersion += std::string("+agents:") + llm::providerKindName(llmAgents_.config.kind) + ":" +
                                    llmAgents_.config.model;
    }
    entry->scope.tenant = r.tenant;
    // The context the answer depends on: the canvas, and the stack asked for.
    entry->scope.canvasVersion = canvasVersion.empty() && canvas ? cache::canvasContentHash(*canvas) : canvasVersion;
    for (const auto& s : r.stack) entry->scope.canvasVersion += "|" + s;
    entry->keys.push_back(cache::DesignCache::textKey(r.request, entry->scope));
    // The same words again: no analysis needed.
    if (auto hit = cache_->lookup(entry->keys.front())) {
      if (auto replayed = replay(r, *hit, staleId)) return std::move(*replayed);
    }
  }

  engine::DesignOptions options;
  options.executionId = store::newId("exec");
  options.simulateLatency = r.simulateLatency;
  options.parallel = r.parallel;
  auto running = newRunning(options.executionId, r.tenant, r.projectId, std::nullopt);
  options.observer = running->persister.get();
  options.modification = modification_;
  options.llmIntent = llmIntent_;
  options.llmIntent.cancel = &stoppingToken_;
  options.llmPlan = llmPlan_;
  options.llmPlan.cancel = &stoppingToken_;
  options.llmAgents = llmAgents_;
  auto design = engine::Design::prepare(engine_, r.request, canvas, r.stack, options, clock_, *running->sink);
  if (!design) return tl::unexpected(design.error());
  running->design = std::move(*design);
  auto& d = *running->design;
  if (r.maxPlanTasks > 0 && d.planned().plan.tasks.size() > r.maxPlanTasks) {
    return fail(ErrorCode::kForbidden, "the plan for this request has " + std::to_string(d.planned().plan.tasks.size()) +
                                           " tasks; your tier allows " + std::to_string(r.maxPlanTasks) +
                                           " (ask for less at once, or move to a higher tier)");
  }

  cache::Tier tier = cache::Tier::kMiss;
  std::string templateOf;
  if (entry) {
    entry->canonical = cache_->canonicalize(d.analysis().reading, d.analysis().frame);
    entry->keys.push_back(cache::exactKey(entry->canonical, entry->scope));
    if (auto hit = cache_->lookup(entry->keys.back())) {
      if (auto replayed = replay(r, *hit, staleId)) return std::move(*replayed);
    }
    if (auto similar = cache_->lookupSimilar(entry->canonical, entry->scope)) {
      auto source = store_.getExecution(similar->payloadId);
      if (source && source->status == store::ExecutionStatus::kCompleted) {
        tier = cache::Tier::kL3;
        templateOf = similar->payloadId;
        const auto age = std::max<std::int64_t>(0, clock_.epochMillis() - source->updatedAt) / 1000;
        d.setCache("L3", boost::json::object{{"similarity", std::round(similar->similarity * 1000) / 1000},
                                             {"template", similar->maskedTemplate},
                                             {"request", source->request},
                                             {"sourceExecutionId", similar->payloadId},
                                             {"ageSeconds", age},
                                             {"decision", "use as base template, regenerate with the new parameters"}});
      } else {
        cache_->countStale(cache::Tier::kL3);
        (void)cache_->forget({}, similar->payloadId);
      }
    }
    if (tier == cache::Tier::kMiss) d.setCache("MISS");
    cache_->countServed(tier);
  }

  if (r.admitRun) {
    if (auto admitted = r.admitRun(); !admitted) return tl::unexpected(admitted.error());
  }

  store::ExecutionRecord record;
  record.id = options.executionId;
  record.projectId = r.projectId;
  record.request = r.request;
  boost::json::object recordOptions{
      {"simulateLatency", r.simulateLatency},
      {"parallel", r.parallel},
      {"stack",
       boost::json::array(d.analysis().context.userPreferences.begin(), d.analysis().context.userPreferences.end())},
      {"approach", d.planned().approach}};
  if (entry) {
    recordOptions["cache"] = cache::tierName(tier);
    recordOptions["cacheKeys"] = keysJson(entry->keys);
    if (!templateOf.empty()) recordOptions["sourceExecutionId"] = templateOf;
  }
  record.options = std::move(recordOptions);
  record.intent = toJson(d.analysis().frame);
  record.route = std::string(routeName(d.planned().route));
  record.plan = d.planned().plan;
  if (canvas) record.baseCanvas = *canvas;
  record.createdAt = record.updatedAt = clock_.epochMillis();
  record.ownerId = r.tenant;
  if (cluster_) {
    // Leased before it exists in the store, so no other instance ever sees it unowned.
    auto lease = store_.acquireLease(record.id, cluster_->instanceId, cluster_->address, clock_.epochMillis(),
                                     cluster_->leaseTtl.count());
    if (!lease) return tl::unexpected(lease.error());
    running->writer->fenceWith(store::Fence{lease->owner, lease->epoch});
    running->leaseExpiresAt = lease->expiresAt;
  }
  if (auto ok = store_.createExecution(record); !ok) {
    if (auto fence = running->writer->fence()) (void)store_.releaseLease(record.id, *fence);
    return tl::unexpected(ok.error());
  }

  StartedExecution started{options.executionId, d.planned().route, std::string(cache::tierName(tier))};
  running->cacheEntry = std::move(entry);
  launch(options.executionId, std::move(running));
  return started;
}

std::optional<Result<StartedExecution>> ExecutionManager::replay(const DesignRequest& r, const cache::ExactHit& hit,
                                                                 std::string& staleId) {
  const std::string& sourceId = hit.answer.executionId;
  if (sourceId == staleId) {
    (void)cache_->forget({hit.key}, sourceId);
    return std::nullopt;
  }
  auto source = store_.getExecution(sourceId);
  auto events = source ? store_.eventsAfter(sourceId, 0, 100'000) : Result<std::vector<Event>>(tl::unexpected(source.error()));
  auto tasks = source ? store_.tasks(sourceId) : Result<std::vector<store::TaskRecord>>(tl::unexpected(source.error()));
  auto files = source ? store_.files(sourceId) : Result<std::vector<GeneratedFile>>(tl::unexpected(source.error()));
  if (!source || source->status != store::ExecutionStatus::kCompleted || !events || events->empty() || !tasks ||
      !files) {
    cache_->countStale(hit.tier);
    (void)cache_->forget({hit.key}, sourceId);
    staleId = sourceId;
    return std::nullopt;
  }
  const std::string tier(cache::tierName(hit.tier));
  const auto now = clock_.epochMillis();

  store::ExecutionRecord record = *source;
  record.id = store::newId("exec");
  record.projectId = r.projectId;
  record.request = r.request;
  record.status = store::ExecutionStatus::kRunning;
  record.summary = nullptr;
  boost::json::object options = source->options.is_object() ? source->options.get_object() : boost::json::object{};
  options["cache"] = tier;
  options["sourceExecutionId"] = sourceId;
  options["cacheKeys"] = keysJson({hit.key});
  options["simulateLatency"] = r.simulateLatency;
  options["parallel"] = r.parallel;
  record.options = std::move(options);
  record.createdAt = record.updatedAt = now;
  record.ownerId = r.tenant;
  if (auto ok = store_.createExecution(record); !ok) return Result<StartedExecution>(tl::unexpected(ok.error()));

  for (auto t : *tasks) {
    t.executionId = record.id;
    (void)store_.saveTask(t);
  }
  (void)store_.saveFiles(record.id, *files);
  std::uint64_t seq = 1;
  boost::json::value summary = source->summary;
  for (auto e : *events) {
    if (e.type == "similarSolutionFound") continue;  // how the source was made, not part of its answer
    e.executionId = record.id;
    e.seq = seq++;
    e.ts = now;
    e.fields["cache"] = tier;
    if (e.type == "intentAnalyzed" || e.type == "executionSummary") e.fields["sourceExecutionId"] = sourceId;
    (void)bus_.publish(e);
  }
  if (summary.is_object()) {
    auto& o = summary.get_object();
    o["cache"] = tier;
    o["sourceExecutionId"] = sourceId;
    o.erase("canvasVersion");
    // As a run would: the project's canvas becomes the result.
    if (!r.projectId.empty() && o.contains("canvas")) {
      if (auto canvas = canvasFromJson(o.at("canvas"), "summary.canvas")) {
        if (auto version = store_.saveCanvas(r.projectId, *canvas, now)) o["canvasVersion"] = *version;
      }
    }
  }
  (void)store_.finishExecution(record.id, store::ExecutionStatus::kCompleted, summary, now);
  cache_->countServed(hit.tier);
  {
    std::lock_guard lock(mutex_);
    ++finishedByStatus_["completed"];
  }
  Route route = record.route == "STATIC" ? Route::kStatic : Route::kDynamic;
  return Result<StartedExecution>(StartedExecution{record.id, route, tier});
}

Result<boost::json::value> ExecutionManager::reportFalseHit(const std::string& id) {
  auto record = store_.getExecution(id);
  if (!record) return tl::unexpected(record.error());
  const auto tier = cache::tierFromName(stringField(record->options, "cache"));
  const std::string sourceId = stringField(record->options, "sourceExecutionId");
  if (!cache_ || !tier || *tier == cache::Tier::kMiss || sourceId.empty()) {
    return fail(ErrorCode::kConflict, "execution " + id + " was not served from the cache");
  }
  cache_->countFalseHit(*tier);
  // An exact answer is withdrawn under every key it was stored with; a
  // template is withdrawn from L3 only (its own question's answer stands).
  std::vector<cache::CacheKey> keys;
  if (*tier != cache::Tier::kL3) {
    if (auto source = store_.getExecution(sourceId)) keys = keysFromJson(source->options);
    for (const auto& k : keysFromJson(record->options)) keys.push_back(k);
  }
  auto forgotten = cache_->forget(keys, sourceId);
  boost::json::object out{{"executionId", id},
                          {"tier", cache::tierName(*tier)},
                          {"sourceExecutionId", sourceId},
                          {"withdrawn", true}};
  if (!forgotten) out["warning"] = "L2: " + forgotten.error().message + " (the entry lives until its TTL)";
  return boost::json::value(std::move(out));
}

void ExecutionManager::launch(const std::string& id, std::unique_ptr<Running> running) {
  struct Joiner {
    std::vector<std::thread> threads;
    ~Joiner() {
      for (auto& t : threads) t.join();
    }
  } finished;  // joins finished watchers when this function returns, after the lock is released
  std::lock_guard lock(mutex_);
  finished.threads.swap(finishedWatchers_);
  auto* raw = running.get();
  raw->design->start();
  // A takeover (or a request) that raced shutdown(): parked at once, like the
  // runs shutdown() suspended, so shutdown does not wait for it to finish.
  if (shuttingDown_) raw->design->suspend("server stopping");
  raw->watcher = std::thread([this, raw, id] {
    raw->design->wait();
    finish(id);
  });
  running_[id] = std::move(running);
}

std::unique_ptr<ExecutionManager::Running> ExecutionManager::newRunning(const std::string& id, std::string owner,
                                                                       std::string projectId,
                                                                       std::optional<store::Fence> fence) {
  auto running = std::make_unique<Running>();
  running->owner = std::move(owner);
  running->projectId = std::move(projectId);
  running->writer = std::make_shared<ExecutionWriter>(store_, bus_, std::move(fence));
  running->sink = std::make_unique<BusSink>(*running->writer);
  running->persister = std::make_unique<TaskPersister>(*running->writer, clock_, id);
  return running;
}

Result<std::size_t> ExecutionManager::resumeUnfinished() {
  if (cluster_) return takeOverOrphans();  // the others' runs are theirs until their leases expire
  auto unfinished = store_.unfinishedExecutions();
  if (!unfinished) return tl::unexpected(unfinished.error());
  std::size_t resumed = 0;
  for (auto& record : *unfinished) {
    auto ran = resumeOne(record, std::nullopt);
    if (!ran) return tl::unexpected(ran.error());
    if (*ran) ++resumed;
  }
  return resumed;
}

Result<bool> ExecutionManager::resumeOne(const store::ExecutionRecord& record,
                                         const std::optional<store::Lease>& lease) {
  std::optional<store::Fence> fence;
  if (lease) fence = store::Fence{lease->owner, lease->epoch};
  const store::Fence* f = fence ? &*fence : nullptr;
  if (!record.damage.empty()) {
    // Nothing can run from it: close it as failed, saying why, and go on
    // with the others.
    spdlog::error("execution {} cannot be resumed: {}; marked failed", record.id, record.damage);
    auto done = store_.finishExecution(
        record.id, store::ExecutionStatus::kFailed,
        boost::json::object{{"success", false}, {"cancelled", false}, {"error", "cannot be resumed: " + record.damage}},
        clock_.epochMillis(), f);
    if (!done) return tl::unexpected(done.error());
    if (f) (void)store_.releaseLease(record.id, *f);
    return false;
  }
  auto last = store::lastEvent(store_, record.id);
  if (!last) return tl::unexpected(last.error());
  if (*last && (*last)->type == "executionSummary") {
    // The run ended before the crash; only its record was not updated.
    const auto& fields = (*last)->fields;
    auto done = store_.finishExecution(record.id, statusOfSummary(fields), boost::json::value(fields),
                                       clock_.epochMillis(), f);
    if (!done) return tl::unexpected(done.error());
    if (f) (void)store_.releaseLease(record.id, *f);
    return false;
  }
  engine::ResumeState state;
  state.request = record.request;
  if (auto frame = intentFrameFromJson(record.intent)) state.frame = std::move(*frame);
  state.route = record.route == "STATIC" ? Route::kStatic : Route::kDynamic;
  state.plan = record.plan;
  state.baseCanvas = record.baseCanvas;
  state.lastSeq = *last ? (*last)->seq : 0;
  state.history = executor::modificationHistoryFromJson(record.modifications);
  double latency = 0, parallel = 0;
  if (record.options.is_object()) {
    const auto& o = record.options.get_object();
    if (auto it = o.find("simulateLatency"); it != o.end() && it->value().is_number()) latency = it->value().to_number<double>();
    if (auto it = o.find("parallel"); it != o.end() && it->value().is_number()) parallel = it->value().to_number<double>();
    if (auto it = o.find("approach"); it != o.end() && it->value().is_string()) state.approach = it->value().get_string();
    if (auto it = o.find("stack"); it != o.end() && it->value().is_array()) {
      for (const auto& p : it->value().get_array()) {
        if (p.is_string()) state.preferences.emplace_back(p.get_string());
      }
    }
  }
  auto tasks = store_.tasks(record.id);
  if (!tasks) return tl::unexpected(tasks.error());
  for (const auto& t : *tasks) {
    if (t.status == "completed") state.completed[t.taskId] = resultFromRecord(t);
  }
  // The intent and plan stages' calls, as their events reported them (among the first events).
  if (auto first = store_.eventsAfter(record.id, 0, 16)) {
    for (const auto& e : *first) {
      if (e.type != "intentAnalyzed" && e.type != "planGenerated") continue;
      if (const auto* llm = e.fields.if_contains("llm")) {
        if (auto usage = llmStageUsageFromJson(*llm)) state.llmUsage.push_back(std::move(*usage));
      }
    }
  }
  auto running = newRunning(record.id, record.ownerId, record.projectId, std::move(fence));
  if (lease) running->leaseExpiresAt = lease->expiresAt;
  engine::DesignOptions options;
  options.executionId = record.id;
  options.simulateLatency = latency;
  options.parallel = static_cast<std::size_t>(parallel);
  options.observer = running->persister.get();
  options.modification = modification_;
  options.llmAgents = llmAgents_;
  running->design = engine::Design::resume(engine_, std::move(state), options, clock_, *running->sink);
  launch(record.id, std::move(running));
  return true;
}

void ExecutionManager::finish(const std::string& id) {
  Running* running = nullptr;
  {
    std::lock_guard lock(mutex_);
    auto it = running_.find(id);
    if (it == running_.end()) return;
    running = it->second.get();
  }
  // Persist before the execution leaves running_, so state() always finds it
  // either live or finished in the store. A suspended one stays "running" in
  // the store: the next start resumes it.
  const auto& ex = running->design->execution();
  auto& writer = *running->writer;
  if (ex.suspended() || writer.fenced()) {
    // Suspended: it stays "running" in the store and the next start (or
    // another instance) resumes it. Fenced: another instance runs it now.
    std::lock_guard lock(mutex_);
    auto it = running_.find(id);
    finishedWatchers_.push_back(std::move(it->second->watcher));
    running_.erase(it);
    settled_.notify_all();
    return;
  }
  const auto& summary = ex.summary();  // its files were stored before it was published
  store::ExecutionStatus status = summary.success     ? store::ExecutionStatus::kCompleted
                                  : summary.cancelled ? store::ExecutionStatus::kCancelled
                                                      : store::ExecutionStatus::kFailed;
  boost::json::object fields = toJsonFields(summary);
  fields["canvas"] = toJson(ex.assembly().canvas);
  // The project's canvas becomes the result: a new version, named in the
  // summary. One write, so a retry after an outage saves the version once.
  auto canvasVersion = std::make_shared<std::optional<int>>();
  const std::string projectId =
      status == store::ExecutionStatus::kCompleted ? running->projectId : std::string();
  writer.write("final record", [id, status, fields, canvasVersion, projectId, canvas = ex.assembly().canvas,
                                now = clock_.epochMillis()](store::Store& s, const store::Fence* f) mutable {
    if (!projectId.empty() && !*canvasVersion) {
      if (f) {
        // The project's canvas is not fenced: check the lease first (a
        // takeover in between would at worst add a second version).
        auto lease = s.getLease(id);
        if (!lease) return Result<void>(tl::unexpected(lease.error()));
        if (!*lease || (*lease)->epoch != f->epoch) {
          return Result<void>(fail(ErrorCode::kConflict, "fenced: execution " + id + " is run by another instance"));
        }
      }
      auto version = s.saveCanvas(projectId, canvas, now);
      if (!version && version.error().code == ErrorCode::kIo) return Result<void>(tl::unexpected(version.error()));
      if (version) *canvasVersion = *version;
    }
    if (*canvasVersion) fields["canvasVersion"] = **canvasVersion;
    return s.finishExecution(id, status, fields, now, f);
  });
  if (auto fence = writer.fence(); fence && writer.pending() == 0 && !writer.fenced()) {
    (void)store_.releaseLease(id, *fence);
  }
  // Stored for the next asker only as it was asked: not after a step was
  // changed, nor when a model stage fell back (the answer is not the one
  // its key names), and only once its record is final.
  if (cache_ && running->cacheEntry && status == store::ExecutionStatus::kCompleted && ex.modifications().empty() &&
      !running->design->fellBack() && writer.pending() == 0) {
    const auto& e = *running->cacheEntry;
    cache_->remember(e.keys, e.canonical, e.scope, cache::CachedAnswer{id, clock_.epochMillis()});
  }
  {
    std::lock_guard lock(mutex_);
    ++finishedByStatus_[std::string(store::executionStatusName(status))];
    auto it = running_.find(id);
    auto done = std::move(it->second);
    running_.erase(it);
    // The watcher thread is this one: hand it to whoever joins.
    finishedWatchers_.push_back(std::move(done->watcher));
    // Writes still waiting for the store keep the run's writer alive until maintain() lands them.
    if (done->writer->pending() > 0) draining_[id] = std::move(done);
  }
  settled_.notify_all();
}

Result<void> ExecutionManager::cancel(const std::string& id, const std::string& reason) {
  {
    std::lock_guard lock(mutex_);
    auto it = running_.find(id);
    if (it != running_.end()) {
      it->second->design->cancel(reason);
      return {};
    }
  }
  auto record = store_.getExecution(id);
  if (!record) return tl::unexpected(record.error());
  return {};
}

template <class F>
auto ExecutionManager::withRunning(const std::string& id, F f) -> decltype(f(std::declval<engine::Design&>())) {
  {
    std::lock_guard lock(mutex_);
    auto it = running_.find(id);
    if (it != running_.end()) return f(*it->second->design);
  }
  auto record = store_.getExecution(id);
  if (!record) return tl::unexpected(record.error());
  return fail(ErrorCode::kConflict, "execution " + id + " has finished (" +
                                        std::string(store::executionStatusName(record->status)) +
                                        "); only a run in progress can be modified");
}

Result<executor::ImpactReport> ExecutionManager::previewModification(const std::string& id, const std::string& taskId,
                                                                     const std::string& prompt) {
  return withRunning(id, [&](engine::Design& d) { return d.previewModification(taskId, prompt); });
}

Result<executor::ImpactReport> ExecutionManager::modify(const std::string& id, const std::string& taskId,
                                                        const std::string& prompt) {
  return withRunning(id, [&](engine::Design& d) { return d.modify(taskId, prompt); });
}

Result<boost::json::value> ExecutionManager::state(const std::string& id) {
  auto record = store_.getExecution(id);
  if (!record) return tl::unexpected(record.error());
  boost::json::array tasks;
  bool live = false;
  std::string status(store::executionStatusName(record->status));
  boost::json::value summary = record->summary;
  boost::json::value modifications = record->modifications;
  {
    std::unique_lock lock(mutex_);
    auto it = running_.find(id);
    if (it != running_.end() && it->second->design->execution().finished() &&
        !it->second->design->execution().suspended()) {
      // Its summary is out and finish() is storing the final record (the
      // project's new canvas version with it): answer with that record.
      settled_.wait_for(lock, std::chrono::seconds(5), [&] { return running_.find(id) == running_.end(); });
      it = running_.find(id);
      if (it == running_.end()) {
        auto final = store_.getExecution(id);
        if (!final) return tl::unexpected(final.error());
        record = std::move(final);
        status = std::string(store::executionStatusName(record->status));
        summary = record->summary;
        modifications = record->modifications;
      }
    }
    if (it != running_.end()) {
      live = true;
      const auto& ex = it->second->design->execution();
      modifications = executor::toJson(ex.modifications());
      if (ex.finished() && !ex.suspended()) {  // still being stored after 5 s: what the execution knows
        const auto& s = ex.summary();
        status = s.success ? "completed" : s.cancelled ? "cancelled" : "failed";
        auto fields = toJsonFields(s);
        fields["canvas"] = toJson(ex.assembly().canvas);  // as finish() stores it
        summary = std::move(fields);
      }
      for (const auto& t : it->second->design->execution().snapshot()) {
        boost::json::object o = toJson(t.task).as_object();
        o["status"] = executor::taskStatusName(t.status);
        o["generation"] = t.generation;
        if (t.startedMs) o["startedMs"] = *t.startedMs;
        if (t.finishedMs) o["finishedMs"] = *t.finishedMs;
        if (!t.resultSummary.empty()) o["result"] = t.resultSummary;
        if (!t.error.empty()) o["error"] = t.error;
        tasks.push_back(std::move(o));
      }
    }
  }
  if (!live) {
    if (record->status == store::ExecutionStatus::kRunning) {
      // It may have finished between the read above and the check: its
      // record is final before it leaves running_, so read it again.
      auto again = store_.getExecution(id);
      if (!again) return tl::unexpected(again.error());
      record = std::move(again);
      status = std::string(store::executionStatusName(record->status));
      summary = record->summary;
      modifications = record->modifications;
    }
    if (record->status == store::ExecutionStatus::kRunning) {
      // Run by another instance, whose summary may be logged (and streamed)
      // before its final record is stored: a client that saw the summary
      // must not read "running" here.
      if (auto last = store::lastEvent(store_, id); last && *last && (*last)->type == "executionSummary") {
        status = std::string(store::executionStatusName(statusOfSummary((*last)->fields)));
        summary = (*last)->fields;
      }
    }
    // Each task with how it ended, from the stored task records.
    std::map<std::string, store::TaskRecord> stored;
    if (auto records = store_.tasks(id)) {
      for (auto& t : *records) stored[t.taskId] = std::move(t);
    }
    for (const auto& t : record->plan.tasks) {
      boost::json::object o = toJson(t).as_object();
      if (auto it = stored.find(t.id); it != stored.end()) {
        o["status"] = it->second.status;
        o["generation"] = it->second.generation;
        if (!it->second.result.empty()) o["result"] = it->second.result;
        if (!it->second.error.empty()) o["error"] = it->second.error;
      } else {
        o["status"] = status == "running" ? "pending" : "skipped";
      }
      tasks.push_back(std::move(o));
    }
  }
  auto last = store_.lastSeq(id);
  boost::json::object out{
      {"id", record->id},
      {"projectId", record->projectId},
      {"status", status},
      {"request", record->request},
      {"route", record->route},
      {"intent", record->intent},
      {"options", record->options},
      {"tasks", std::move(tasks)},
      {"summary", summary},
      {"lastSeq", last ? *last : 0},
      {"modifications", modifications},
      {"createdAt", record->createdAt},
      {"updatedAt", record->updatedAt},
  };
  if (!record->damage.empty()) out["damage"] = record->damage;
  if (cluster_) {
    // Which instance runs it (or ran it last).
    if (auto lease = store_.getLease(id); lease && *lease) {
      out["instance"] = boost::json::object{{"id", (*lease)->owner},
                                            {"address", (*lease)->ownerAddress},
                                            {"epoch", (*lease)->epoch},
                                            {"leaseExpiresAt", (*lease)->expiresAt}};
    }
  }
  return boost::json::value(std::move(out));
}

void ExecutionManager::joinCluster(ClusterOptions options) { cluster_ = std::move(options); }

Placement ExecutionManager::placement(const std::string& id) {
  {
    std::lock_guard lock(mutex_);
    if (running_.count(id)) return {Placement::Kind::kHere, {}, {}};
  }
  if (!cluster_) return {};
  auto lease = store_.getLease(id);
  if (!lease || !*lease) return {};
  const auto& l = **lease;
  if (l.owner != cluster_->instanceId && l.expiresAt > clock_.epochMillis()) {
    return {Placement::Kind::kElsewhere, l.owner, l.ownerAddress};
  }
  // Expired (or held by this instance's previous life): is it still running?
  auto record = store_.getExecution(id);
  if (record && record->status == store::ExecutionStatus::kRunning) return {Placement::Kind::kOrphaned, l.owner, l.ownerAddress};
  return {};
}

std::size_t ExecutionManager::takeOverOrphans() {
  const auto now = clock_.epochMillis();
  // An execution with no lease at all was written by a single instance (or is
  // being created): it counts as orphaned only after a lease's lifetime.
  auto orphans = store_.orphanedExecutions(now, cluster_->leaseTtl.count());
  if (!orphans) return 0;
  std::size_t taken = 0;
  for (const auto& id : *orphans) {
    {
      std::lock_guard lock(mutex_);
      if (shuttingDown_ || running_.count(id) || draining_.count(id)) continue;
    }
    auto lease = store_.acquireLease(id, cluster_->instanceId, cluster_->address, now, cluster_->leaseTtl.count());
    if (!lease) continue;  // another instance was quicker
    store::Fence fence{lease->owner, lease->epoch};
    auto record = store_.getExecution(id);
    if (!record || record->status != store::ExecutionStatus::kRunning) {
      (void)store_.releaseLease(id, fence);
      continue;
    }
    auto resumed = resumeOne(*record, *lease);
    if (resumed && *resumed) {
      ++taken;
      std::lock_guard lock(mutex_);
      ++takeovers_;
    } else if (!resumed) {
      (void)store_.releaseLease(id, fence);  // try again on a later round
    }
  }
  return taken;
}

MaintenanceReport ExecutionManager::maintain() {
  std::lock_guard serial(maintenanceMutex_);
  MaintenanceReport report;
  struct Held {
    std::string id;
    std::shared_ptr<ExecutionWriter> writer;
    bool draining = false;  // finished here, its last writes waiting for the store
  };
  std::vector<Held> held;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, r] : running_) held.push_back({id, r->writer, false});
    for (auto& [id, r] : draining_) held.push_back({id, r->writer, true});
  }
  auto find = [&](const Held& h) -> Running* {  // with mutex_ held
    auto& map = h.draining ? draining_ : running_;
    auto it = map.find(h.id);
    return it == map.end() ? nullptr : it->second.get();
  };
  std::vector<const Held*> lost, drained;
  for (const auto& h : held) {
    const bool flushed = h.writer->flush();
    if (cluster_) {
      if (auto fence = h.writer->fence(); fence && !h.writer->fenced()) {
        const auto now = clock_.epochMillis();
        auto renewed = store_.renewLease(h.id, *fence, now, cluster_->leaseTtl.count());
        std::lock_guard lock(mutex_);
        Running* r = find(h);
        if (renewed) {
          ++report.renewed;
          if (r) r->leaseExpiresAt = renewed->expiresAt;
        } else if (renewed.error().code == ErrorCode::kConflict) {
          lost.push_back(&h);
        } else if (r && now >= r->leaseExpiresAt - cluster_->leaseTtl.count() / 4) {
          // The store is away. Once the lease expires another instance may
          // take the run over when the store is back: stop it here a quarter
          // of a lease before that, so a task never runs on two instances at once.
          lost.push_back(&h);
        }
      }
    }
    if (h.writer->fenced()) lost.push_back(&h);
    if (h.draining && flushed) {
      drained.push_back(&h);
      if (auto fence = h.writer->fence(); fence && !h.writer->fenced()) (void)store_.releaseLease(h.id, *fence);
    }
    report.pendingWrites += h.writer->pending();
  }
  {
    std::lock_guard lock(mutex_);
    // Only maintain() removes from draining_: what finished draining, and
    // what another instance took over meanwhile (its writes are void).
    for (const auto* h : drained) draining_.erase(h->id);
    std::set<std::string> stopped;
    for (const auto* h : lost) {
      if (!stopped.insert(h->id).second) continue;
      if (h->draining) {
        draining_.erase(h->id);
      } else if (auto it = running_.find(h->id); it != running_.end()) {
        it->second->design->suspend("this instance no longer holds the execution's lease");
      } else {
        continue;
      }
      ++report.lost;
      ++lost_;
    }
  }
  if (cluster_) report.tookOver = takeOverOrphans();
  return report;
}

void ExecutionManager::startMaintenance(std::chrono::milliseconds every) {
  std::lock_guard lock(mutex_);
  if (maintenance_.joinable() || shuttingDown_) return;
  maintenance_ = std::thread([this, every] {
    std::unique_lock lock(mutex_);
    while (!shuttingDown_) {
      maintenanceWake_.wait_for(lock, every, [&] { return shuttingDown_; });
      if (shuttingDown_) break;
      lock.unlock();
      (void)maintain();
      lock.lock();
    }
  });
}

ExecutionManager::ClusterStats ExecutionManager::clusterStats() {
  ClusterStats stats;
  std::lock_guard lock(mutex_);
  stats.takeovers = takeovers_;
  stats.lost = lost_;
  for (auto* map : {&running_, &draining_}) {
    for (auto& [id, r] : *map) {
      if (r->writer->fence() && !r->writer->fenced() && map == &running_) ++stats.leasesHeld;
      stats.pendingWrites += r->writer->pending();
      stats.failedWrites += r->writer->failed();
    }
  }
  return stats;
}

void ExecutionManager::shutdown(const std::string& reason) {
  stopping_.cancel(reason);
  {
    std::lock_guard lock(mutex_);
    shuttingDown_ = true;
    maintenanceWake_.notify_all();
    for (auto& [id, r] : running_) {
      r->design->suspend(reason);  // completed tasks are stored; the rest resume at the next start
    }
  }
  // Each watcher finishes its execution and parks its own thread for joining.
  std::vector<std::thread> watchers;
  {
    std::unique_lock lock(mutex_);
    settled_.wait(lock, [&] { return running_.empty(); });
    watchers.swap(finishedWatchers_);
  }
  for (auto& w : watchers) w.join();
  if (maintenance_.joinable()) maintenance_.join();
  // A last try for writes still waiting; what the store still refuses is
  // lost with the process, as before this instance had a writer.
  for (auto& [id, r] : draining_) (void)r->writer->flush();
}

bool ExecutionManager::waitUntilSettled(const std::string& id, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return settled_.wait_for(lock, timeout, [&] { return running_.find(id) == running_.end(); });
}

std::map<std::string, std::size_t> ExecutionManager::countsByStatus() {
  std::lock_guard lock(mutex_);
  auto counts = finishedByStatus_;
  for (const char* s : {"completed", "failed", "cancelled"}) counts.emplace(s, 0);
  counts["running"] = running_.size();
  return counts;
}

}  // namespace ymy::server
