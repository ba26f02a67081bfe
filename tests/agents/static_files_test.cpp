// Example 2 (scale the auth service to 5000 RPS) run by the real engine, and
// the scaled deployment it writes judged by the tools that own each format:
// yaml-cpp for docker-compose.yml, monitoring/prometheus.yml and alerts.yml,
// Debian's nginx (`nginx -t`) for deploy/nginx.conf, node for
// auth-service/config.js, and redis-server for deploy/redis-cluster.conf.
// The files must also agree with each other and with the canvas the run
// produces: one compose service per canvas element, the same counts
// everywhere.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <boost/json/parse.hpp>

#include <chrono>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include "codegen/test_util.hpp"
#include "engine/design.hpp"
#include "model/json_io.hpp"
#include "agents/agent_test_support.hpp"
#include "test_data.hpp"

namespace ymy::engine {
namespace {

namespace fs = std::filesystem;

constexpr const char* kExample2 = "Fix the auth service in my design and make it scalable to 5000 RPS";
constexpr const char* kTarget = "auth-service";

// What the secrets of docker-compose.yml are set to here (the compose file
// insists on them: ${NAME:?...}).
const std::map<std::string, std::string> kSecrets = {
    {"JWT_SECRET", "0123456789abcdef0123456789abcdef0123456789abcdef"},
    {"DB_PASSWORD", "app-password"},
    {"DB_ROOT_PASSWORD", "root-password"},
    {"DB_REPLICATION_PASSWORD", "replication-password"},
    {"DB_MONITOR_PASSWORD", "monitor-password"},
};



// ---- YAML as docker compose reads it ------------------------------------------

// yaml-cpp 0.7 keeps "<<" as a plain key; compose merges the aliased maps
// (YAML 1.1 merge keys), keys written beside "<<" winning.
YAML::Node withMerges(const YAML::Node& node) {
  if (node.IsMap()) {
    YAML::Node out(YAML::NodeType::Map);
    if (const YAML::Node merge = node["<<"]) {
      std::vector<YAML::Node> bases;
      if (merge.IsSequence()) {
        for (const auto& b : merge) bases.push_back(b);
      } else {
        bases.push_back(merge);
      }
      for (const auto& base : bases) {
        for (const auto& kv : withMerges(base)) out[kv.first.as<std::string>()] = kv.second;
      }
    }
    for (const auto& kv : node) {
      const auto key = kv.first.as<std::string>();
      if (key != "<<") out[key] = withMerges(kv.second);
    }
    return out;
  }
  if (node.IsSequence()) {
    YAML::Node out(YAML::NodeType::Sequence);
    for (const auto& item : node) out.push_back(withMerges(item));
    return out;
  }
  return YAML::Clone(node);
}

// Compose's interpolation: $$ is a dollar, ${NAME}, ${NAME:-default} and
// ${NAME:?error} read `vars` (an unset required one fails the test).
std::string interpolate(const std::string& text, const std::map<std::string, std::string>& vars) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$') {
      out += text[i];
    } else if (i + 1 < text.size() && text[i + 1] == '$') {
      out += '$';
      ++i;
    } else if (i + 1 < text.size() && text[i + 1] == '{') {
      const auto close = text.find('}', i);
      const std::string expr = text.substr(i + 2, close - i - 2);
      const auto op = expr.find_first_of(":-?");
      const std::string name = expr.substr(0, op);
      auto it = vars.find(name);
      if (it != vars.end()) {
        out += it->second;
      } else if (op != std::string::npos && expr.compare(op, 2, ":-") == 0) {
        out += expr.substr(op + 2);
      } else {
        ADD_FAILURE() << "${" << name << "} is not set: " << expr;
      }
      i = close;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, separator)) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

bool isMember(const std::string& name, const std::string& group) {
  static const std::regex kMember("-[0-9]+");
  return name.size() > group.size() && name.starts_with(group) && std::regex_match(name.substr(group.size()), kMember);
}

// A loopback TCP port nobody listens on (the kernel's choice for port 0).
int freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

// `promtool check config` on monitoring/prometheus.yml: the configuration,
// then the rule files it names (alerts.yml), every PromQL expression parsed.
void expectPromtoolAccepts(const std::map<std::string, std::string>& files, const std::string& label) {
  test::TempDir dir("promtool");
  for (const char* path : {"monitoring/prometheus.yml", "monitoring/alerts.yml"}) {
    auto it = files.find(path);
    ASSERT_NE(it, files.end()) << label << ": " << path;
    test::writeFile(dir.path() / path, it->second);
  }
  auto checked = test::run(
      "promtool check config " + test::shellQuote((dir.path() / "monitoring/prometheus.yml").string()), dir.path());
  EXPECT_EQ(checked.exitCode, 0) << label << ":\n" << checked.output;
  EXPECT_NE(checked.output.find("rules found"), std::string::npos) << label << ": alerts.yml was not read\n"
                                                                   << checked.output;
}

// ---- The run ------------------------------------------------------------------

struct DesignRun {
  std::map<std::string, std::string> files;  // path -> content
  Canvas canvas;
  bool success = false;
  std::string failure;
};

class StaticFilesTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto engine = Engine::load(test::dataDir());
    ASSERT_TRUE(engine) << engine.error().message;
    engine_ = engine->release();
    example2_ = new DesignRun(run(kExample2, exampleCanvas()));
  }
  static void TearDownTestSuite() {
    delete example2_;
    delete engine_;
  }

  static Canvas exampleCanvas() {
    return *loadCanvasFile(test::dataDir() / "examples" / "ecommerce-basic-auth.canvas.json");
  }

  static DesignRun run(const std::string& request, const Canvas& canvas) {
    SystemClock clock;
    test::RecordingSink sink;
    DesignRun out;
    auto design = Design::prepare(*engine_, request, canvas, {}, {}, clock, sink);
    if (!design) {
      out.failure = design.error().message;
      return out;
    }
    (*design)->start();
    (*design)->wait();
    const auto& ex = (*design)->execution();
    out.success = ex.summary().success;
    if (!ex.summary().failures.empty()) out.failure = ex.summary().failures[0].error;
    for (const auto& f : ex.assembly().files) out.files[f.path] = f.content;
    out.canvas = ex.assembly().canvas;
    return out;
  }

  static const DesignRun& example2() { return *example2_; }

  // The compose file with merge keys applied.
  static YAML::Node compose(const DesignRun& r) {
    auto it = r.files.find("docker-compose.yml");
    if (it == r.files.end()) return YAML::Node();
    return withMerges(YAML::Load(it->second));
  }

  static std::set<std::string> servicesOf(const YAML::Node& compose) {
    std::set<std::string> out;
    for (const auto& kv : compose["services"]) out.insert(kv.first.as<std::string>());
    return out;
  }

  static std::vector<std::string> membersOf(const std::set<std::string>& services, const std::string& group) {
    std::vector<std::string> out;
    for (const auto& s : services) {
      if (isMember(s, group)) out.push_back(s);
    }
    return out;
  }

  // Checks what every scaled deployment must hold, whatever its sizing.
  static void expectConsistentCompose(const YAML::Node& doc, const std::string& label) {
    ASSERT_TRUE(doc["services"].IsMap()) << label;
    const auto services = servicesOf(doc);
    std::set<std::string> volumes;
    if (doc["volumes"]) {
      for (const auto& kv : doc["volumes"]) volumes.insert(kv.first.as<std::string>());
    }
    for (const auto& kv : doc["services"]) {
      const auto name = kv.first.as<std::string>();
      const auto& service = kv.second;
      EXPECT_TRUE(service["image"] || service["build"]) << label << ": " << name << " has no image or build";
      if (const auto deps = service["depends_on"]) {
        for (const auto& dep : deps) {
          const auto on = deps.IsMap() ? dep.first.as<std::string>() : dep.as<std::string>();
          EXPECT_TRUE(services.count(on)) << label << ": " << name << " depends on missing service " << on;
        }
      }
      if (const auto mounts = service["volumes"]) {
        for (const auto& m : mounts) {
          const auto source = m.as<std::string>().substr(0, m.as<std::string>().find(':'));
          if (!source.starts_with(".") && !source.starts_with("/")) {
            EXPECT_TRUE(volumes.count(source)) << label << ": " << name << " mounts undeclared volume " << source;
          }
        }
      }
    }
  }

  static inline Engine* engine_ = nullptr;
  static inline DesignRun* example2_ = nullptr;
};

TEST_F(StaticFilesTest, Example2WritesTheScaledDeployment) {
  const auto& r = example2();
  ASSERT_TRUE(r.success) << r.failure;
  // The spec's five files (nginx.conf and redis-cluster.conf under deploy/,
  // beside the certificates compose makes), and Prometheus' configuration.
  for (const char* path : {"docker-compose.yml", "deploy/nginx.conf", "auth-service/config.js",
                           "deploy/redis-cluster.conf", "monitoring/alerts.yml", "monitoring/prometheus.yml"}) {
    EXPECT_TRUE(r.files.count(path)) << path;
  }
  // Scaling updates the service's configuration; it does not regenerate it.
  EXPECT_FALSE(r.files.count("auth-service/package.json"));
  EXPECT_FALSE(r.files.count("auth-service/src/app.js"));
  for (const auto& [path, content] : r.files) {
    if (path.ends_with(".yml") || path.ends_with(".yaml")) {
      EXPECT_NO_THROW(YAML::Load(content)) << path;
    }
  }
}

TEST_F(StaticFilesTest, ComposeHasAServiceForEveryCanvasElement) {
  const auto& r = example2();
  ASSERT_TRUE(r.success) << r.failure;
  const YAML::Node doc = compose(r);
  expectConsistentCompose(doc, "example 2");
  const auto services = servicesOf(doc);
  const auto& canvas = r.canvas;

  // The target: one service per instance, as many as the canvas says.
  const auto* target = canvas.findNode(kTarget);
  ASSERT_NE(target, nullptr);
  ASSERT_TRUE(target->config.contains("instances"));
  const auto instances = target->config.at("instances").to_number<int>();
  EXPECT_GT(instances, 1);
  const auto members = membersOf(services, kTarget);
  EXPECT_EQ(static_cast<int>(members.size()), instances);
  std::set<std::string> secrets;
  for (const auto& name : members) {
    const auto s = doc["services"][name];
    EXPECT_EQ(s["build"].as<std::string>(), std::string("./") + kTarget) << name;
    EXPECT_EQ(s["environment"]["INSTANCE_ID"].as<std::string>(), name);
    EXPECT_EQ(s["environment"]["INSTANCE_COUNT"].as<std::string>(), std::to_string(instances)) << name;
    EXPECT_EQ(s["environment"]["NODE_ENV"].as<std::string>(), "production") << name;
    EXPECT_TRUE(s["healthcheck"]["test"]) << name;
    secrets.insert(s["environment"]["JWT_SECRET"].as<std::string>());
  }
  ASSERT_EQ(secrets.size(), 1u) << "every instance shares one JWT secret";
  EXPECT_TRUE(secrets.begin()->starts_with("${JWT_SECRET:?")) << *secrets.begin();

  // Every node the merge added or kept around the target has its service.
  std::string lb, sessions, monitoring;
  std::vector<std::string> replicas;
  std::string primary;
  for (const auto& e : canvas.edges) {
    if (e.target != kTarget) continue;
    const auto* source = canvas.findNode(e.source);
    if (source && source->type == "load_balancer") lb = source->id;
    if (source && source->type == "monitoring") monitoring = source->id;
  }
  for (const auto& n : canvas.nodes) {
    if (n.config.contains("role") && n.config.at("role") == "read-replica") {
      replicas.push_back(n.id);
      primary = std::string(n.config.at("replicaOf").as_string());
    }
    if (n.id == std::string(kTarget) + "-sessions") sessions = n.id;
  }
  ASSERT_EQ(lb, "auth-service-lb");
  ASSERT_FALSE(sessions.empty());
  ASSERT_FALSE(replicas.empty());
  ASSERT_FALSE(monitoring.empty());

  ASSERT_TRUE(services.count(lb));
  EXPECT_NE(doc["services"][lb]["image"].as<std::string>().find("nginx"), std::string::npos);
  bool mountsNginxConf = false;
  for (const auto& v : doc["services"][lb]["volumes"]) {
    mountsNginxConf = mountsNginxConf || v.as<std::string>() == "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro";
  }
  EXPECT_TRUE(mountsNginxConf);

  // The session store: sessionNodes Redis nodes on redis-cluster.conf, and the
  // one-shot service that makes them a cluster.
  const auto sessionNodes = canvas.findNode(sessions)->config.at("nodes").to_number<int>();
  const auto redisNodes = membersOf(services, sessions);
  EXPECT_EQ(static_cast<int>(redisNodes.size()), sessionNodes);
  for (const auto& name : redisNodes) {
    std::string command;
    for (const auto& part : doc["services"][name]["command"]) command += part.as<std::string>() + " ";
    EXPECT_NE(command.find("redis.conf"), std::string::npos) << name;
    EXPECT_NE(command.find("--cluster-announce-hostname " + name), std::string::npos) << name;
  }
  ASSERT_TRUE(services.count(sessions + "-init"));
  const auto create = doc["services"][sessions + "-init"]["command"][0].as<std::string>();
  EXPECT_NE(create.find("--cluster create"), std::string::npos) << create;
  for (const auto& name : redisNodes) EXPECT_NE(create.find(name), std::string::npos) << name;

  if (const auto* cache = canvas.findNode(std::string(kTarget) + "-cache")) {
    EXPECT_TRUE(services.count(cache->id) || !membersOf(services, cache->id).empty()) << cache->id;
  }

  // The database primary and each read replica, MySQL with GTID replication.
  ASSERT_TRUE(services.count(primary)) << primary;
  for (const auto& id : replicas) EXPECT_TRUE(services.count(id)) << id;
  auto commandOf = [&](const std::string& name) {
    std::string out;
    for (const auto& part : doc["services"][name]["command"]) out += part.as<std::string>() + " ";
    return out;
  };
  EXPECT_NE(commandOf(primary).find("--gtid-mode=ON"), std::string::npos);
  EXPECT_NE(commandOf(primary).find("--log-bin"), std::string::npos);
  std::set<std::string> serverIds = {"--server-id=1"};
  for (const auto& id : replicas) {
    const auto command = commandOf(id);
    EXPECT_NE(command.find("--read-only=ON"), std::string::npos) << id;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(command, m, std::regex("--server-id=[0-9]+"))) << id;
    EXPECT_TRUE(serverIds.insert(m.str()).second) << id << " reuses " << m.str();
  }
  const auto init = doc["services"][primary + "-init"]["command"][0].as<std::string>();
  for (const auto& id : replicas) EXPECT_NE(init.find(id), std::string::npos) << id;
  EXPECT_NE(init.find("SOURCE_AUTO_POSITION=1"), std::string::npos);

  ASSERT_TRUE(services.count(monitoring));

  // The instances are wired to exactly those stores.
  const auto env = doc["services"][members.front()]["environment"];
  EXPECT_EQ(split(env["REDIS_CLUSTER_NODES"].as<std::string>(), ','), [&] {
    std::vector<std::string> v;
    for (const auto& n : redisNodes) v.push_back(n + ":6379");
    return v;
  }());
  std::vector<std::string> replicaHosts;
  for (const auto& id : replicas) replicaHosts.push_back(id + ":3306");
  EXPECT_EQ(split(env["DB_READ_REPLICAS"].as<std::string>(), ','), replicaHosts);
  EXPECT_EQ(env["DB_PRIMARY"].as<std::string>(), primary + ":3306");
}

// Prometheus scrapes what compose runs; every job an alert names is scraped;
// the alerts cover the instances, the session store and the replication.
TEST_F(StaticFilesTest, MonitoringCoversEveryGroup) {
  const auto& r = example2();
  ASSERT_TRUE(r.success) << r.failure;
  const auto services = servicesOf(compose(r));
  const YAML::Node prometheus = YAML::Load(r.files.at("monitoring/prometheus.yml"));
  std::set<std::string> jobs;
  for (const auto& job : prometheus["scrape_configs"]) {
    jobs.insert(job["job_name"].as<std::string>());
    for (const auto& sc : job["static_configs"]) {
      for (const auto& t : sc["targets"]) {
        const auto host = t.as<std::string>().substr(0, t.as<std::string>().find(':'));
        EXPECT_TRUE(services.count(host)) << "prometheus scrapes " << host << ", which compose does not run";
      }
    }
    for (const auto& relabel : job["relabel_configs"]) {
      if (!relabel["replacement"]) continue;
      const auto host = relabel["replacement"].as<std::string>();
      EXPECT_TRUE(services.count(host.substr(0, host.find(':')))) << host;
    }
  }
  const YAML::Node alerts = YAML::Load(r.files.at("monitoring/alerts.yml"));
  std::set<std::string> groups, alertNames;
  static const std::regex kJob("job=\"([^\"]+)\"");
  for (const auto& group : alerts["groups"]) {
    groups.insert(group["name"].as<std::string>());
    ASSERT_TRUE(group["rules"].IsSequence()) << group["name"].as<std::string>();
    for (const auto& rule : group["rules"]) {
      const auto name = rule["alert"].as<std::string>();
      EXPECT_TRUE(alertNames.insert(name).second) << "duplicate alert " << name;
      EXPECT_TRUE(std::regex_match(name, std::regex("[A-Za-z_][A-Za-z0-9_]*"))) << name;
      const auto expr = rule["expr"].as<std::string>();
      for (std::sregex_iterator it(expr.begin(), expr.end(), kJob), end; it != end; ++it) {
        EXPECT_TRUE(jobs.count((*it)[1].str())) << name << " asks for job " << (*it)[1].str();
      }
      const auto severity = rule["labels"]["severity"].as<std::string>();
      EXPECT_TRUE(severity == "page" || severity == "ticket") << name;
      EXPECT_FALSE(rule["annotations"]["summary"].as<std::string>().empty()) << name;
    }
  }
  for (const char* g : {"auth-service-instances", "auth-service-sessions", "users-db-replication"}) {
    EXPECT_TRUE(groups.count(g)) << g;
  }
  EXPECT_TRUE(alertNames.count("AuthServiceTooFewInstances"));
  EXPECT_TRUE(alertNames.count("UsersDbReplicationLag"));
  EXPECT_TRUE(alertNames.count("AuthServiceSessionsClusterNotOk"));
}

// Prometheus' own checker parses the configuration and every alert
// expression (Debian's prometheus package brings promtool).
TEST_F(StaticFilesTest, PromtoolAcceptsTheMonitoring) {
  if (!test::haveProgram("promtool")) {
    GTEST_SKIP() << "promtool is not installed (scripts/setup installs Debian's prometheus package)";
  }
  const auto& r = example2();
  ASSERT_TRUE(r.success) << r.failure;
  expectPromtoolAccepts(r.files, "example 2");
}

// `nginx -t` on a copy: host names of the upstream resolve only inside the
// compose network, so the copy points them at 127.0.0.1; the pid file, logs,
// temporary files and the (self-signed) certificate live in a temp dir.
TEST_F(StaticFilesTest, NginxAcceptsTheLoadBalancer) {
  ASSERT_TRUE(test::haveProgram("nginx")) << "nginx is needed to check deploy/nginx.conf (scripts/setup installs it)";
  ASSERT_TRUE(test::haveProgram("openssl")) << "openssl makes the test certificate (scripts/setup installs it)";
  const auto& r = example2();
  ASSERT_TRUE(r.success) << r.failure;
  const std::string original = r.files.at("deploy/nginx.conf");
  test::TempDir dir("nginx");
  const auto root = dir.path().string();
  fs::create_directories(dir.path() / "certs");
  auto cert =
      test::run("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -keyout " +
                    test::shellQuote(root + "/certs/tls.key") + " -out " + test::shellQuote(root + "/certs/tls.crt"),
                dir.path());
  ASSERT_EQ(cert.exitCode, 0) << cert.output;

  std::ostringstream copy;
  copy << "pid " << root << "/nginx.pid;\n";
  std::istringstream in(original);
  static const std::regex kUpstreamServer(R"(^(\s*server\s+)[A-Za-z0-9_.-]+(:[0-9]+.*)$)");
  int upstreamServers = 0;
  for (std::string line; std::getline(in, line);) {
    if (std::regex_match(line, kUpstreamServer)) {
      line = std::regex_replace(line, kUpstreamServer, "$01127.0.0.1$2");
      ++upstreamServers;
    }
    line = std::regex_replace(line, std::regex(R"(error_log [^;]*;)"), "error_log " + root + "/error.log warn;");
    line = std::regex_replace(line, std::regex("/etc/nginx/certs/"), root + "/certs/");
    copy << line << "\n";
    if (line == "http {") {
      for (const char* kind : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"}) {
        copy << "  " << kind << "_temp_path " << root << "/" << kind << "_temp;\n";
      }
    }
  }
  const auto example = YAML::Load(r.files.at("docker-compose.yml"));
  EXPECT_EQ(upstreamServers, static_cast<int>(membersOf(servicesOf(example), kTarget).size()))
      << "one upstream server per instance";
  test::writeFile(dir.path() / "nginx.conf", copy.str());
  auto checked = test::run("nginx -t -q -p " + test::shellQuote(root + "/") + " -e " +
                               test::shellQuote(root + "/error.log") + " -c " + test::shellQuote(root + "/nginx.conf"),
                           dir.path());
  EXPECT_EQ(checked.exitCode, 0) << checked.output << "\n" << copy.str();

  // What the file promises, beyond parsing.
  std::istringstream lines(original);
  for (std::string line; std::getline(lines, line);) {
    line = line.substr(0, line.find('#'));  // directives only
    EXPECT_EQ(line.find("ip_hash"), std::string::npos) << "sessions are in Redis: no sticky sessions";
    EXPECT_EQ(line.find("sticky"), std::string::npos) << line;
    EXPECT_EQ(line.find("hash "), std::string::npos) << line;
  }
  for (const char* directive : {"location = /healthz", "listen 443 ssl", "proxy_set_header X-Forwarded-For",
                                "proxy_set_header X-Forwarded-Proto", "keepalive 64", "max_fails="}) {
    EXPECT_NE(original.find(directive), std::string::npos) << directive;
  }
}

// node --check, then config.js required with the environment compose gives
// the first instance: the replicas and Redis nodes it reads are compose's.
TEST_F(StaticFilesTest, ConfigJsReadsTheComposeEnvironment) {
  ASSERT_TRUE(test::haveProgram("node")) << "node is needed to check config.js (scripts/setup installs it)";
  const auto& r = example2();
  ASSERT_TRUE(r.success) << r.failure;
  test::TempDir dir("config-js");
  const auto path = dir.path() / kTarget / "config.js";
  test::writeFile(path, r.files.at("auth-service/config.js"));
  auto syntax = test::run("node --check " + test::shellQuote(path.string()), dir.path());
  ASSERT_EQ(syntax.exitCode, 0) << syntax.output;

  const YAML::Node doc = compose(r);
  const auto services = servicesOf(doc);
  const auto members = membersOf(services, kTarget);
  ASSERT_FALSE(members.empty());
  std::string envArgs;
  for (const auto& kv : doc["services"][members.front()]["environment"]) {
    envArgs +=
        " " + kv.first.as<std::string>() + "=" + test::shellQuote(interpolate(kv.second.as<std::string>(), kSecrets));
  }
  const std::string script =
      "const c = require(process.argv[1]);"
      "process.stdout.write(JSON.stringify({instanceId: c.instanceId, instanceCount: c.instanceCount,"
      " jwt: c.jwt.secret.length, sessions: c.sessions, cache: c.cache && c.cache.nodes,"
      " engine: c.database.engine, primary: c.database.primary, replicas: c.database.replicas,"
      " reads: [c.database.readTarget(), c.database.readTarget(), c.database.readTarget()]}));";
  auto loaded = test::run("env -i PATH=\"$PATH\"" + envArgs + " node -e " + test::shellQuote(script) + " " +
                              test::shellQuote(path.string()),
                          dir.path());
  ASSERT_EQ(loaded.exitCode, 0) << loaded.output;
  const auto config = boost::json::parse(loaded.output).as_object();
  EXPECT_EQ(config.at("instanceId"), members.front().c_str());
  EXPECT_EQ(config.at("instanceCount").to_number<int>(), static_cast<int>(members.size()));
  EXPECT_EQ(config.at("jwt").to_number<std::size_t>(), kSecrets.at("JWT_SECRET").size());
  EXPECT_EQ(config.at("engine"), "mysql");

  auto hostsOf = [](const boost::json::value& list) {
    std::vector<std::string> out;
    for (const auto& e : list.as_array()) {
      out.push_back(std::string(e.at("host").as_string()) + ":" + std::to_string(e.at("port").to_number<int>()));
    }
    return out;
  };
  std::vector<std::string> replicas, redis;
  for (const auto& n : r.canvas.nodes) {
    if (n.config.contains("role") && n.config.at("role") == "read-replica") replicas.push_back(n.id + ":3306");
  }
  for (const auto& s : membersOf(services, std::string(kTarget) + "-sessions")) redis.push_back(s + ":6379");
  ASSERT_FALSE(replicas.empty());
  EXPECT_EQ(hostsOf(config.at("replicas")), replicas);
  EXPECT_EQ(config.at("sessions").at("store"), "redis-cluster");
  EXPECT_EQ(hostsOf(config.at("sessions").at("nodes")), redis);
  // Reads go to the replicas in turn.
  const auto reads = hostsOf(config.at("reads"));
  EXPECT_EQ(reads[0], replicas[0]);
  EXPECT_EQ(reads[1], replicas[1 % replicas.size()]);
  EXPECT_EQ(reads[2], replicas[2 % replicas.size()]);

  // Production without the JWT secret does not start.
  auto missing = test::run("env -i PATH=\"$PATH\" NODE_ENV=production node -e " +
                               test::shellQuote("require(process.argv[1])") + " " + test::shellQuote(path.string()),
                           dir.path());
  EXPECT_NE(missing.exitCode, 0);
  EXPECT_NE(missing.output.find("JWT_SECRET must be set"), std::string::npos) << missing.output;
  // Without compose's environment, the defaults are the sizing's.
  auto defaults =
      test::run("env -i PATH=\"$PATH\" node -e " +
                    test::shellQuote("process.stdout.write(String(require(process.argv[1]).instanceCount))") + " " +
                    test::shellQuote(path.string()),
                dir.path());
  ASSERT_EQ(defaults.exitCode, 0) << defaults.output;
  EXPECT_EQ(trim(defaults.output), std::to_string(members.size()));
}

// redis-server runs the cluster configuration: on free loopback ports in a
// temp dir (its working directory holds nodes.conf and the append-only files).
TEST_F(StaticFilesTest, RedisServerRunsTheClusterConfiguration) {
  if (!test::haveProgram("redis-server") || !test::haveProgram("redis-cli")) {
    GTEST_SKIP() << "redis-server or redis-cli is not installed (scripts/setup installs redis-server and redis-tools)";
  }
  const auto& r = example2();
  ASSERT_TRUE(r.success) << r.failure;
  test::TempDir dir("redis");
  const auto root = dir.path().string();
  test::writeFile(dir.path() / "redis-cluster.conf", r.files.at("deploy/redis-cluster.conf"));
  const int port = freePort();
  int busPort = freePort();
  while (busPort == port) busPort = freePort();
  ASSERT_GT(port, 0);
  ASSERT_GT(busPort, 0);
  const std::string cli = "redis-cli -h 127.0.0.1 -p " + std::to_string(port) + " ";
  auto started = test::run("cd " + test::shellQuote(root) + " && redis-server ./redis-cluster.conf --port " +
                               std::to_string(port) + " --cluster-port " + std::to_string(busPort) +
                               " --bind 127.0.0.1 --daemonize yes --pidfile " + test::shellQuote(root + "/redis.pid") +
                               " --logfile " + test::shellQuote(root + "/redis.log"),
                           dir.path());
  ASSERT_EQ(started.exitCode, 0) << started.output << test::readFile(dir.path() / "redis.log");
  std::string pong;
  for (int i = 0; i < 50 && pong != "PONG"; ++i) {
    pong = trim(test::run(cli + "ping", dir.path()).output);
    if (pong != "PONG") std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const auto info = test::run(cli + "info cluster", dir.path()).output;
  const auto policy = test::run(cli + "config get maxmemory-policy", dir.path()).output;
  const auto aof = test::run(cli + "config get appendonly", dir.path()).output;
  auto stopped = test::run(cli + "shutdown nosave", dir.path());
  // shutdown closes the connection: its exit code says nothing. Make sure.
  if (fs::exists(dir.path() / "redis.pid")) {
    const auto pid = trim(test::readFile(dir.path() / "redis.pid"));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (!pid.empty() && test::run("kill -0 " + pid, dir.path()).exitCode == 0) {
      test::run("kill " + pid, dir.path());
    }
  }
  EXPECT_EQ(pong, "PONG") << test::readFile(dir.path() / "redis.log");
  EXPECT_NE(info.find("cluster_enabled:1"), std::string::npos) << info;
  EXPECT_NE(policy.find("volatile-lru"), std::string::npos) << policy;
  EXPECT_NE(aof.find("yes"), std::string::npos) << aof;
  EXPECT_TRUE(fs::exists(dir.path() / "nodes.conf")) << "cluster-config-file in the working directory";
  (void)stopped;
}

// The same files when the sizing is not there (cap-001 and arch-001 not run):
// the fallbacks still give a complete, consistent deployment.
TEST_F(StaticFilesTest, FallbacksWithoutSizingAreConsistent) {
  auto canvas = exampleCanvas();
  auto analysis = engine_->analyze(kExample2, &canvas);
  ASSERT_TRUE(analysis) << analysis.error().message;
  auto planned = engine_->plan(*analysis, kExample2);
  ASSERT_TRUE(planned) << planned.error().message;
  executor::ExecutionInput input;
  input.request = kExample2;
  input.frame = analysis->frame;
  input.baseCanvas = canvas;
  std::map<std::string, std::string> files;
  std::vector<CanvasNode> added;
  for (const auto& t : planned->plan.tasks) {
    if (t.agent != "ops-001" && t.agent != "code-001") continue;
    test::DirectContext ctx(t, input);
    auto result = engine_->agents().find(t.agent)->run(ctx);
    ASSERT_TRUE(result) << t.id << ": " << result.error().message;
    for (const auto& f : result->files) files[f.path] = f.content;
    for (const auto& n : result->canvasUpdate.nodes) added.push_back(n);
  }
  for (const char* path : {"docker-compose.yml", "deploy/nginx.conf", "auth-service/config.js",
                           "deploy/redis-cluster.conf", "monitoring/alerts.yml", "monitoring/prometheus.yml"}) {
    ASSERT_TRUE(files.count(path)) << path;
  }
  const YAML::Node doc = withMerges(YAML::Load(files["docker-compose.yml"]));
  expectConsistentCompose(doc, "fallbacks");
  EXPECT_NO_THROW(YAML::Load(files["monitoring/alerts.yml"]));
  EXPECT_NO_THROW(YAML::Load(files["monitoring/prometheus.yml"]));
  if (test::haveProgram("promtool")) expectPromtoolAccepts(files, "fallbacks");
  const auto services = servicesOf(doc);
  const auto instances = membersOf(services, kTarget);
  EXPECT_GE(instances.size(), 2u);
  std::size_t upstream = 0;
  for (std::size_t at = 0; (at = files["deploy/nginx.conf"].find("max_fails=", at)) != std::string::npos; ++at)
    ++upstream;
  EXPECT_EQ(upstream, instances.size());
  EXPECT_EQ(membersOf(services, "auth-service-sessions").size(), 3u) << "a Redis Cluster needs three masters";
  EXPECT_TRUE(services.count("users-db")) << "the database the canvas gives auth-service";
  EXPECT_FALSE(membersOf(services, "users-db-replica").empty());
  // Without arch-001's scaled topology the deployment task puts its pieces on
  // the canvas itself, with the ids the merger would give them.
  std::set<std::string> ids;
  for (const auto& n : added) ids.insert(n.id);
  for (const char* id :
       {"auth-service", "auth-service-lb", "auth-service-sessions", "users-db-replica-1", "monitoring"}) {
    EXPECT_TRUE(ids.count(id)) << id;
  }
  if (test::haveProgram("node")) {
    test::TempDir dir("fallback-config");
    test::writeFile(dir.path() / "config.js", files["auth-service/config.js"]);
    auto syntax = test::run("node --check " + test::shellQuote((dir.path() / "config.js").string()), dir.path());
    EXPECT_EQ(syntax.exitCode, 0) << syntax.output;
  }
}

// A PostgreSQL database gets a primary and streaming replicas instead.
TEST_F(StaticFilesTest, PostgresqlGetsStreamingReplicas) {
  auto canvas = exampleCanvas();
  for (auto& n : canvas.nodes) {
    if (n.id == "users-db") {
      n.config["engine"] = "PostgreSQL";
      n.label = "Users DB (PostgreSQL)";
    }
    if (n.id == kTarget) n.config["database"] = "PostgreSQL single instance";
  }
  const DesignRun r = run(kExample2, canvas);
  ASSERT_TRUE(r.success) << r.failure;
  const YAML::Node doc = compose(r);
  expectConsistentCompose(doc, "postgresql");
  const auto services = servicesOf(doc);
  ASSERT_TRUE(services.count("users-db"));
  EXPECT_NE(doc["services"]["users-db"]["image"].as<std::string>().find("postgres"), std::string::npos);
  std::string primaryCommand;
  for (const auto& part : doc["services"]["users-db"]["command"]) primaryCommand += part.as<std::string>() + " ";
  EXPECT_NE(primaryCommand.find("wal_level=replica"), std::string::npos) << primaryCommand;
  const auto replicas = membersOf(services, "users-db-replica");
  ASSERT_FALSE(replicas.empty());
  for (const auto& id : replicas) {
    const auto script = doc["services"][id]["command"][0].as<std::string>();
    EXPECT_NE(script.find("pg_basebackup -h users-db"), std::string::npos) << id;
  }
  ASSERT_TRUE(doc["configs"]["users-db-roles"]["content"]);
  EXPECT_NE(doc["configs"]["users-db-roles"]["content"].as<std::string>().find("REPLICATION LOGIN"), std::string::npos);
  EXPECT_EQ(doc["services"][membersOf(services, kTarget).front()]["environment"]["DB_ENGINE"].as<std::string>(),
            "postgresql");
  EXPECT_NE(r.files.at("auth-service/config.js").find("env.DB_ENGINE || 'postgresql'"), std::string::npos);
  EXPECT_NE(r.files.at("monitoring/alerts.yml").find("pg_replication_lag_seconds"), std::string::npos);
  EXPECT_NO_THROW(YAML::Load(r.files.at("monitoring/alerts.yml")));
  if (test::haveProgram("promtool")) expectPromtoolAccepts(r.files, "postgresql");
}

}  // namespace
}  // namespace ymy::engine
