#include "server/execution_manager.hpp"

#include "model/json_io.hpp"

namespace ymy::server {

namespace {

// Executor events into the bus: logged, then fanned out.
class BusSink final : public executor::EventSink {
 public:
  explicit BusSink(bus::EventBus& bus) : bus_(bus) {}
  void publish(const Event& event) override {
    if (auto ok = bus_.publish(event); !ok) failures_++;
  }
  int failures() const { return failures_; }

 private:
  bus::EventBus& bus_;
  int failures_ = 0;
};

}  // namespace

ExecutionManager::ExecutionManager(const engine::Engine& engine, store::Store& store, bus::EventBus& bus, Clock& clock)
    : engine_(engine), store_(store), bus_(bus), clock_(clock) {}

ExecutionManager::~ExecutionManager() { shutdown("server stopping"); }

Result<StartedExecution> ExecutionManager::start(const DesignRequest& r) {
  std::optional<Canvas> canvas = r.canvas;
  if (!r.projectId.empty()) {
    auto project = store_.getProject(r.projectId);
    if (!project) return tl::unexpected(project.error());
    if (!canvas) {
      auto latest = store_.getCanvas(r.projectId);
      if (!latest) return tl::unexpected(latest.error());
      canvas = std::move(*latest);
    }
  }
  auto running = std::make_unique<Running>();
  running->sink = std::make_unique<BusSink>(bus_);
  engine::DesignOptions options;
  options.executionId = store::newId("exec");
  options.simulateLatency = r.simulateLatency;
  options.parallel = r.parallel;
  auto design = engine::Design::prepare(engine_, r.request, canvas, r.stack, options, clock_, *running->sink);
  if (!design) return tl::unexpected(design.error());
  running->design = std::move(*design);
  const auto& d = *running->design;

  store::ExecutionRecord record;
  record.id = options.executionId;
  record.projectId = r.projectId;
  record.request = r.request;
  record.options = boost::json::object{{"simulateLatency", r.simulateLatency}, {"parallel", r.parallel}};
  record.intent = toJson(d.analysis().frame);
  record.route = std::string(routeName(d.planned().route));
  record.plan = d.planned().plan;
  if (canvas) record.baseCanvas = *canvas;
  record.createdAt = record.updatedAt = clock_.epochMillis();
  if (auto ok = store_.createExecution(record); !ok) return tl::unexpected(ok.error());

  StartedExecution started{options.executionId, d.planned().route, "MISS"};
  struct Joiner {
    std::vector<std::thread> threads;
    ~Joiner() {
      for (auto& t : threads) t.join();
    }
  } finished;  // joins finished watchers when this function returns, after the lock is released
  std::lock_guard lock(mutex_);
  finished.threads.swap(finishedWatchers_);
  if (shuttingDown_) return fail(ErrorCode::kInternal, "the server is shutting down");
  auto* raw = running.get();
  raw->design->start();
  const std::string id = options.executionId;
  raw->watcher = std::thread([this, raw, id] {
    raw->design->wait();
    finish(id);
  });
  running_[id] = std::move(running);
  return started;
}

void ExecutionManager::finish(const std::string& id) {
  std::unique_ptr<Running> done;
  {
    std::lock_guard lock(mutex_);
    auto it = running_.find(id);
    if (it == running_.end()) return;
    done = std::move(it->second);
    running_.erase(it);
  }
  const auto& ex = done->design->execution();
  const auto& summary = ex.summary();
  (void)store_.saveFiles(id, ex.assembly().files);
  store::ExecutionStatus status = summary.success     ? store::ExecutionStatus::kCompleted
                                  : summary.cancelled ? store::ExecutionStatus::kCancelled
                                                      : store::ExecutionStatus::kFailed;
  boost::json::object fields = toJsonFields(summary);
  fields["canvas"] = toJson(ex.assembly().canvas);
  (void)store_.finishExecution(id, status, fields, clock_.epochMillis());
  // The watcher thread is this one: hand it to whoever joins.
  {
    std::lock_guard lock(mutex_);
    finishedWatchers_.push_back(std::move(done->watcher));
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

Result<boost::json::value> ExecutionManager::state(const std::string& id) {
  auto record = store_.getExecution(id);
  if (!record) return tl::unexpected(record.error());
  boost::json::array tasks;
  bool live = false;
  std::string status(store::executionStatusName(record->status));
  boost::json::value summary = record->summary;
  {
    std::lock_guard lock(mutex_);
    auto it = running_.find(id);
    if (it != running_.end()) {
      live = true;
      const auto& ex = it->second->design->execution();
      if (ex.finished()) {  // summary published; the store is being updated
        const auto& s = ex.summary();
        status = s.success ? "completed" : s.cancelled ? "cancelled" : "failed";
        summary = toJsonFields(s);
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
    for (const auto& t : record->plan.tasks) tasks.push_back(toJson(t));
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
      {"createdAt", record->createdAt},
      {"updatedAt", record->updatedAt},
  };
  return boost::json::value(std::move(out));
}

void ExecutionManager::shutdown(const std::string& reason) {
  std::vector<std::string> ids;
  {
    std::lock_guard lock(mutex_);
    shuttingDown_ = true;
    for (auto& [id, r] : running_) {
      r->design->cancel(reason);
      ids.push_back(id);
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
}

std::map<std::string, std::size_t> ExecutionManager::countsByStatus() {
  std::lock_guard lock(mutex_);
  return {{"running", running_.size()}};
}

}  // namespace ymy::server
