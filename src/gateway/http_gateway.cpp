// Beast listeners and connection sessions (the shape of Beast's advanced_server: a strand per
// connection, a deadline on every read, a body and header limit on every parser), plus routing,
// CORS, the in-flight cap, metrics and the resend of calls a stopped agent held (resend_policy).
// Agents are reached with caf::anon_send; their answers are posted back onto the connection's
// strand.
#include "gateway/http_gateway.hpp"

#include <atomic>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <caf/send.hpp>
#include <fmt/format.h>

#include "config/config.hpp"
#include "gateway/cors_policy.hpp"
#include "gateway/gateway_endpoints.hpp"
#include "gateway/resend_policy.hpp"
#include "gateway/route_map.hpp"
#include "http/problem.hpp"
#include "http/nul_screen.hpp"
#include "log/log.hpp"
#include "mercato/agent_actor.hpp"
#include "mercato/agent_directory.hpp"
#include "runtime/metrics.hpp"
#include "runtime/uuid.hpp"

namespace mercato {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using steady = std::chrono::steady_clock;

constexpr int gateway_listener = -1;  // listener index of the gateway port
constexpr std::chrono::milliseconds resend_poll{10};    // how often a resend looks for the new incarnation
constexpr std::chrono::milliseconds agent_watch{100};   // how often a waiting call looks at its agent

// Everything sessions share; lives as long as any session (shared_ptr).
struct gateway_core {
  gateway_core(net::io_context& io_, gateway_dependencies d)
      : io(io_),
        deps(std::move(d)),
        settings(deps.settings->gateway),
        routes(*deps.directory),
        cors(settings.cors_allowed_origins),
        endpoints(*deps.directory, *deps.metrics, *deps.settings, deps.started,
                  deps.database_ready, deps.extra_metrics) {
    for (size_t i = 0; i < deps.directory->size(); ++i)
      timeouts.push_back(agent_request_timeout(*deps.settings, deps.directory->at(i).name()));
  }

  net::io_context& io;
  gateway_dependencies deps;
  const gateway_config& settings;
  route_map routes;
  cors_policy cors;
  gateway_endpoints endpoints;
  std::vector<millis> timeouts;  // per agent index
  std::atomic<bool> draining{false};
  std::atomic<uint64_t> in_flight{0};
};

class session : public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket&& socket, std::shared_ptr<gateway_core> core, int listener)
      : stream_(std::move(socket)),
        core_(std::move(core)),
        listener_(listener),
        deadline_(stream_.get_executor()) {
    core_->deps.metrics->open_connections.fetch_add(1, std::memory_order_relaxed);
  }
  ~session() { core_->deps.metrics->open_connections.fetch_sub(1, std::memory_order_relaxed); }

  void run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&session::wait_for_request, shared_from_this()));
  }

 private:
  // Phase 1: an idle keep-alive connection waits for the first byte of its next request.
  void wait_for_request() {
    if (buffer_.size() > 0) return read_request();
    stream_.expires_after(core_->settings.keep_alive_idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096),
                            beast::bind_front_handler(&session::on_first_bytes, shared_from_this()));
  }

  void on_first_bytes(beast::error_code ec, size_t n) {
    if (ec) return close();  // idle timeout, EOF or reset: nothing was asked, nothing to answer
    buffer_.commit(n);
    read_request();
  }

  // Phase 2: the whole request must arrive within read_timeout (slow clients get 408). The
  // deadline is a timer of our own that cancels the read: tcp_stream's own expiry would close
  // the socket, and the 408 could not be written.
  void read_request() {
    parser_.emplace();
    parser_->body_limit(core_->settings.max_body_bytes);
    parser_->header_limit(static_cast<uint32_t>(core_->settings.max_header_bytes));
    stream_.expires_never();
    read_timed_out_ = false;
    arm_deadline(core_->settings.read_timeout, [](session& s) {
      s.read_timed_out_ = true;
      beast::error_code ignored;
      s.stream_.socket().cancel(ignored);
    });
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, size_t) {
    disarm_deadline();
    if (ec && read_timed_out_) return fail(408, "Request timeout");
    if (ec == bhttp::error::end_of_stream) return close();
    if (ec == bhttp::error::body_limit) return fail(413, "Request body too large");
    if (ec == bhttp::error::header_limit) return fail(431, "Request header fields too large");
    if (ec && ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category())
      return fail(400, "Malformed HTTP request");  // any other parse error of Beast's
    if (ec) return close();
    stream_.expires_never();
    handle(parser_->release());
  }

  // Answers with an error and closes: the stream is in an unknown state after a bad request.
  void fail(int status, std::string_view detail) {
    keep_alive_ = false;
    started_ = steady::now();
    method_ = "other";
    slot_ = core_->deps.metrics->gateway_slot();
    write(http::error(status, detail));
  }

  void handle(bhttp::request<bhttp::string_body>&& req) {
    started_ = steady::now();
    keep_alive_ = req.keep_alive();
    method_ = std::string(req.method_string());
    origin_ = std::string(req[bhttp::field::origin]);
    slot_ = core_->deps.metrics->gateway_slot();

    std::string_view target = req.target();
    auto qmark = target.find('?');
    std::string_view path = target.substr(0, qmark);
    std::string_view query = qmark == std::string_view::npos ? std::string_view{}
                                                             : target.substr(qmark + 1);
    if (path.empty() || path.front() != '/') return write(http::error(400, "Malformed request target"));
    if (http::target_has_nul(target))
      return write(http::error(400, "NUL characters (%00) are not allowed in the request target"));

    const bool preflight = req.method() == bhttp::verb::options && !origin_.empty() &&
                           req.count(bhttp::field::access_control_request_method) > 0;
    int agent = listener_;
    std::string_view agent_path = path;
    if (listener_ == gateway_listener) {
      if (auto routed = core_->routes.by_prefix(path)) {
        agent = routed->agent_index;
        agent_path = routed->agent_path;
      } else if (preflight && gateway_endpoints::serves(path)) {
        return write(core_->cors.preflight(
            origin_, req[bhttp::field::access_control_request_headers]));
      } else if (auto own = core_->endpoints.handle(method_, path)) {
        return write(std::move(*own));
      } else {
        return write(http::not_found());
      }
    }
    slot_ = static_cast<size_t>(agent);

    if (preflight)
      return write(core_->cors.preflight(
          origin_, req[bhttp::field::access_control_request_headers]));

    if (http::json_has_nul_escape(req.body()))
      return write(http::validation_error(
          {{{"body"}, "strings must not contain NUL (\\u0000) characters", "value_error.nul_character"}}));

    http_request call;
    call.method = method_;
    call.path = std::string(agent_path);
    call.query = std::string(query);
    call.headers.reserve(8);
    for (const auto& field : req) {
      std::string name(field.name_string());
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      call.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    call.body = std::move(req.body());
    keep_for_resend(static_cast<size_t>(agent), call);
    forward(static_cast<size_t>(agent), std::move(call));
  }

  // A request that may be sent twice (resend_policy: a GET, or one its agent de-duplicates by key,
  // with a key minted when it came without one) is kept, to be sent again should the agent stop
  // while holding it.
  void keep_for_resend(size_t agent, http_request& call) {
    using resend_policy::resend;
    resend_copy_.reset();
    awaiting_restart_ = false;
    const auto how = resend_policy::classify(core_->deps.directory->at(agent).name(), method_, call.path);
    if (how == resend::never) return;
    if (how == resend::with_key) {
      bool keyed = false;
      for (const auto& [name, value] : call.headers) keyed = keyed || (name == "idempotency-key" && !value.empty());
      if (!keyed)
        call.headers.emplace_back("idempotency-key", std::string(resend_policy::minted_key_prefix) + uuid_v4());
    }
    resend_copy_ = call;
  }

  // Retry-After for a 503 about `entry`: the seconds until its backoff restart is due when the
  // supervisor has one scheduled, else the configured default.
  uint32_t retry_after_for(const agent_entry& entry) const { return retry_after_seconds(entry.restart_in()); }
  uint32_t retry_after_seconds(std::optional<millis> restart_in) const {
    const auto fallback = core_->settings.retry_after_seconds;
    if (!restart_in) return fallback;
    return std::max<uint32_t>(fallback, static_cast<uint32_t>((restart_in->count() + 999) / 1000));
  }

  // A 503 for a request that would have waited for `entry`'s restart, were it due by `wait_until`.
  bool refuse_if_restart_too_late(const agent_entry& entry, steady::time_point wait_until) {
    const auto left = entry.restart_in();  // read once: the restart may clear it any time
    if (!left || steady::now() + *left <= wait_until) return false;
    write(http::unavailable(fmt::format("Agent '{}' is restarting in {} ms; retry later", entry.name(), left->count()),
                            retry_after_seconds(left)));
    return true;
  }

  void forward(size_t agent, http_request&& request) {
    auto& entry = core_->deps.directory->at(agent);
    const auto retry_after = retry_after_for(entry);
    const auto state = entry.state();
    const bool coming_back = state == agent_run_state::restarting || state == agent_run_state::starting;
    // A request that may be sent twice waits for a restart under way, as it would have had it
    // reached the crashed incarnation first (resend_policy); its copy is what goes out then.
    if (coming_back && resend_copy_) return await_restart();
    if (state != agent_run_state::running)
      return write(http::unavailable(
          fmt::format("Agent '{}' is {}; retry later", entry.name(), to_string(state)), retry_after));
    sent_incarnation_ = entry.incarnation();  // before the handle: a restart in between is then seen
    auto handle = entry.handle();
    if (!handle && resend_copy_) return await_restart();
    if (!handle)
      return write(http::unavailable(fmt::format("Agent '{}' is restarting", entry.name()),
                                     retry_after));
    if (entry.in_flight.fetch_add(1, std::memory_order_relaxed) >=
        core_->settings.max_in_flight_per_agent) {
      entry.in_flight.fetch_sub(1, std::memory_order_relaxed);
      return write(http::unavailable(
          fmt::format("Agent '{}' is saturated; retry later", entry.name()), retry_after));
    }
    core_->in_flight.fetch_add(1, std::memory_order_relaxed);
    waiting_ = true;
    const uint64_t id = ++call_id_;
    auto self = shared_from_this();
    std::function<void()> dropped;
    if (resend_copy_)
      dropped = [self, id] { net::post(self->stream_.get_executor(), [self, id] { self->on_agent_dropped(id); }); };
    auto reply = make_reply_channel(
        [self, id](http_response&& r) {
          net::post(self->stream_.get_executor(), [self, id, r = std::move(r)]() mutable {
            self->on_agent_reply(id, std::move(r));
          });
        },
        std::move(dropped));
    caf::anon_send(caf::actor_cast<agent_actor>(handle), http_call{std::move(request), std::move(reply)});
    answer_by_ = steady::now() + core_->timeouts[agent];
    watch_agent(id);
  }

  // Until its answer or its timeout, a call looks at its agent every agent_watch: a stopped
  // incarnation can keep the reply channel alive for a while (a timer of its own still holding
  // it), and the caller would otherwise wait for that timer. A call shorter than agent_watch
  // arms the timer once, as a plain deadline would.
  void watch_agent(uint64_t id) {
    const auto now = steady::now();
    if (now >= answer_by_) return on_agent_timeout(id);
    const auto left = std::chrono::duration_cast<millis>(answer_by_ - now) + millis(1);
    arm_deadline(std::min<millis>(agent_watch, left), [id](session& s) {
      const auto& entry = s.core_->deps.directory->at(s.slot_);
      if (entry.state() != agent_run_state::running || entry.incarnation() != s.sent_incarnation_)
        return s.on_agent_dropped(id);
      s.watch_agent(id);
    });
  }

  // Ends the wait for call `id`; false when it was already over (answered or timed out).
  bool finish_wait(uint64_t id) {
    if (!waiting_ || id != call_id_) return false;
    waiting_ = false;
    core_->deps.directory->at(slot_).in_flight.fetch_sub(1, std::memory_order_relaxed);
    core_->in_flight.fetch_sub(1, std::memory_order_relaxed);
    return true;
  }

  void on_agent_reply(uint64_t id, http_response&& r) {
    if (!finish_wait(id)) return;
    disarm_deadline();
    write(std::move(r));
  }

  // The agent stopped while holding the call. One kept for resending goes once more to the next
  // incarnation, as soon as that runs and within the agent's timeout; any other, or a second stop,
  // is answered 503.
  void on_agent_dropped(uint64_t id) {
    if (!finish_wait(id)) return;
    disarm_deadline();
    auto& entry = core_->deps.directory->at(slot_);
    if (!resend_copy_) return write(http::unavailable("Agent stopped before answering; retry", 1));
    log::info("gateway", "request_resent_after_agent_stopped",
              {{"agent", entry.name()}, {"method", method_}, {"path", resend_copy_->path}});
    core_->deps.metrics->resent_after_stop.fetch_add(1, std::memory_order_relaxed);
    resend_until_ = steady::now() + core_->timeouts[slot_];
    resend_when_running();
  }

  void resend_when_running() {
    auto& entry = core_->deps.directory->at(slot_);
    if (entry.state() == agent_run_state::running && entry.incarnation() != sent_incarnation_) {
      auto request = std::move(*resend_copy_);
      resend_copy_.reset();  // one resend: should this incarnation stop too, the caller gets 503
      return forward(slot_, std::move(request));
    }
    if (refuse_if_restart_too_late(entry, resend_until_)) return;
    if (steady::now() >= resend_until_)
      return write(http::unavailable(fmt::format("Agent '{}' is restarting", entry.name()),
                                     retry_after_for(entry)));
    arm_deadline(resend_poll, [](session& s) { s.resend_when_running(); });
  }

  // Polls every resend_poll, within the agent's timeout from the first look, until the agent
  // runs, then forwards the kept copy (which stays kept: a crash of the new incarnation holding
  // it is resent as usual); 503 if it is not back in time or is stopped or failed meanwhile.
  void await_restart() {
    auto& entry = core_->deps.directory->at(slot_);
    if (!awaiting_restart_) {
      awaiting_restart_ = true;
      restart_wait_until_ = steady::now() + core_->timeouts[slot_];
    }
    const auto state = entry.state();
    if (state == agent_run_state::running && entry.handle()) return forward(slot_, http_request(*resend_copy_));
    const bool coming_back = state == agent_run_state::restarting || state == agent_run_state::starting ||
                             state == agent_run_state::running;
    // A backoff restart due after the wait would end: the caller hears so now, not at its end.
    if (state == agent_run_state::restarting && refuse_if_restart_too_late(entry, restart_wait_until_)) return;
    if (!coming_back || steady::now() >= restart_wait_until_)
      return write(http::unavailable(fmt::format("Agent '{}' is {}; retry later", entry.name(), to_string(state)),
                                     retry_after_for(entry)));
    arm_deadline(resend_poll, [](session& s) { s.await_restart(); });
  }

  void on_agent_timeout(uint64_t id) {
    if (!finish_wait(id)) return;
    write(http::gateway_timeout(fmt::format("Agent '{}' did not answer in time",
                                            core_->deps.directory->at(slot_).name())));
  }

  void write(http_response&& r) {
    response_ = {};
    response_.version(11);
    response_.result(static_cast<unsigned>(r.status));
    response_.set(bhttp::field::server, "mercato");
    if (!r.content_type.empty()) response_.set(bhttp::field::content_type, r.content_type);
    for (auto& [name, value] : r.headers) response_.set(name, value);
    if (!origin_.empty() && response_.find(bhttp::field::access_control_allow_origin) ==
                                response_.end()) {
      auto allow = core_->cors.allow_origin(origin_);
      if (!allow.empty()) response_.set(bhttp::field::access_control_allow_origin, allow);
    }
    response_.keep_alive(keep_alive_ && !core_->draining.load(std::memory_order_relaxed));
    response_.body() = std::move(r.body);
    response_.prepare_payload();
    if (method_ == "HEAD" && response_.has_content_length()) {
      // The headers a GET would get, Content-Length included, and no body (RFC 9110 §9.3.2):
      // bytes after them would be read as the start of the next response on this connection.
      // (prepare_payload drops Content-Length where a status has no body: 204, 304.)
      const auto length = response_.body().size();
      response_.body().clear();
      response_.content_length(length);
    }
    core_->deps.metrics->record(
        slot_, method_, r.status,
        std::chrono::duration_cast<std::chrono::microseconds>(steady::now() - started_));
    stream_.expires_after(core_->settings.read_timeout);  // a client that never reads is cut off
    bhttp::async_write(stream_, response_,
                       beast::bind_front_handler(&session::on_write, shared_from_this(),
                                                 response_.need_eof()));
  }

  void on_write(bool close_after, beast::error_code ec, size_t) {
    if (ec || close_after) return close();
    stream_.expires_never();
    origin_.clear();
    wait_for_request();
  }

  template <class OnExpiry>
  void arm_deadline(millis after, OnExpiry on_expiry) {
    const uint64_t id = ++deadline_id_;
    deadline_.expires_after(after);
    deadline_.async_wait([self = shared_from_this(), id, on_expiry](beast::error_code ec) {
      if (!ec && id == self->deadline_id_) on_expiry(*self);
    });
  }

  void disarm_deadline() {
    ++deadline_id_;
    deadline_.cancel();
  }

  void close() {
    beast::error_code ignored;
    disarm_deadline();
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::response<bhttp::string_body> response_;
  std::shared_ptr<gateway_core> core_;
  int listener_;
  // One timer per connection: the read deadline while a request arrives, then the agent's
  // deadline while its answer is awaited; the two never overlap.
  net::steady_timer deadline_;
  uint64_t deadline_id_ = 0;  // bumped on every arm and disarm: a stale expiry does nothing
  bool read_timed_out_ = false;
  uint64_t call_id_ = 0;
  bool waiting_ = false;
  bool keep_alive_ = true;
  size_t slot_ = 0;
  std::string method_;
  std::string origin_;
  steady::time_point started_;
  std::optional<http_request> resend_copy_;  // the request in flight, when resend_policy applies
  uint32_t sent_incarnation_ = 0;            // the incarnation it went to
  steady::time_point answer_by_;             // the call's deadline: its agent's timeout
  steady::time_point resend_until_;
  bool awaiting_restart_ = false;             // await_restart's wait has begun for this request
  steady::time_point restart_wait_until_;
};

class listener : public std::enable_shared_from_this<listener> {
 public:
  listener(std::shared_ptr<gateway_core> core, int index, const tcp::endpoint& endpoint)
      : core_(std::move(core)), index_(index), acceptor_(net::make_strand(core_->io)) {
    beast::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec)
      throw std::runtime_error(fmt::format("cannot listen on {}:{}: {}",
                                           endpoint.address().to_string(), endpoint.port(),
                                           ec.message()));
    port_ = acceptor_.local_endpoint().port();
  }

  uint16_t port() const noexcept { return port_; }

  void run() { accept(); }

  void stop() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ignored;
      self->acceptor_.close(ignored);
    });
  }

 private:
  void accept() {
    acceptor_.async_accept(net::make_strand(core_->io),
                           beast::bind_front_handler(&listener::on_accept, shared_from_this()));
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;  // closed by stop()
    if (!ec) {
      auto& metrics = *core_->deps.metrics;
      metrics.accepted_connections.fetch_add(1, std::memory_order_relaxed);
      if (static_cast<size_t>(metrics.open_connections.load(std::memory_order_relaxed)) >=
          core_->settings.max_connections) {
        reject(std::move(socket));
      } else {
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        std::make_shared<session>(std::move(socket), core_, index_)->run();
      }
    }
    if (acceptor_.is_open()) accept();
  }

  // Over the connection cap: a short 503 on the fresh socket (its send buffer is empty, so a
  // non-blocking write goes through whole), then close.
  void reject(tcp::socket socket) {
    core_->deps.metrics->rejected_connections.fetch_add(1, std::memory_order_relaxed);
    static constexpr std::string_view busy =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        "Retry-After: 1\r\nConnection: close\r\nContent-Length: 46\r\n\r\n"
        "{\"detail\":\"Too many connections; retry later\"}";
    beast::error_code ignored;
    socket.non_blocking(true, ignored);
    socket.write_some(net::buffer(busy.data(), busy.size()), ignored);
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  std::shared_ptr<gateway_core> core_;
  int index_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
};

}  // namespace

struct http_gateway::impl {
  std::shared_ptr<gateway_core> core;
  std::shared_ptr<listener> gateway;
  std::vector<std::shared_ptr<listener>> legacy;  // by agent index; null when off
};

http_gateway::http_gateway(net::io_context& io, gateway_dependencies deps)
    : impl_(std::make_shared<impl>()) {
  impl_->core = std::make_shared<gateway_core>(io, std::move(deps));
}

http_gateway::~http_gateway() = default;

void http_gateway::start() {
  auto& core = *impl_->core;
  const auto& s = core.settings;
  beast::error_code ec;
  auto address = net::ip::make_address(s.bind_address, ec);
  if (ec) throw std::runtime_error(fmt::format("invalid gateway.bind_address '{}'", s.bind_address));
  impl_->gateway =
      std::make_shared<listener>(impl_->core, gateway_listener, tcp::endpoint{address, s.port});
  impl_->legacy.resize(core.deps.directory->size());
  if (s.legacy_ports) {
    for (size_t i = 0; i < core.deps.directory->size(); ++i) {
      const auto& spec = core.deps.directory->at(i).spec();
      uint16_t port = s.legacy_port_base == 0 ? 0 : static_cast<uint16_t>(s.legacy_port_base +
                                                                          spec.port_offset);
      impl_->legacy[i] =
          std::make_shared<listener>(impl_->core, static_cast<int>(i), tcp::endpoint{address, port});
    }
  }
  impl_->gateway->run();
  for (auto& l : impl_->legacy)
    if (l) l->run();
  log::info("gateway", "listening",
            {{"address", s.bind_address},
             {"port", impl_->gateway->port()},
             {"legacy_ports", s.legacy_ports}});
}

void http_gateway::stop_accepting() {
  impl_->core->draining.store(true);
  if (impl_->gateway) impl_->gateway->stop();
  for (auto& l : impl_->legacy)
    if (l) l->stop();
}

uint64_t http_gateway::in_flight() const { return impl_->core->in_flight.load(); }

uint16_t http_gateway::gateway_port() const {
  return impl_->gateway ? impl_->gateway->port() : 0;
}

uint16_t http_gateway::legacy_port(size_t agent_index) const {
  if (agent_index >= impl_->legacy.size() || !impl_->legacy[agent_index]) return 0;
  return impl_->legacy[agent_index]->port();
}

}  // namespace mercato
