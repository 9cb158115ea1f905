// The HTTP test client (see http_client.hpp): Beast's async operations on a private io_context,
// run to completion after each call, so that every read and write has a deadline.
#include "support/http_client.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace mercato::test {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

http_result to_result(bhttp::response<bhttp::string_body>&& response) {
  http_result r;
  r.status = static_cast<int>(response.result_int());
  for (const auto& field : response) {
    auto [it, inserted] = r.headers.emplace(lower(field.name_string()), std::string(field.value()));
    if (!inserted) it->second += ", " + std::string(field.value());
  }
  r.body = std::move(response.body());
  return r;
}

bool is_close(const beast::error_code& ec) {
  return ec == net::error::eof || ec == net::error::connection_reset ||
         ec == net::error::broken_pipe || ec == bhttp::error::end_of_stream;
}

}  // namespace

std::string http_result::header(std::string_view name) const {
  auto it = headers.find(lower(name));
  return it == headers.end() ? std::string{} : it->second;
}

bool http_result::has_header(std::string_view name) const {
  return headers.count(lower(name)) > 0;
}

struct http_connection::impl {
  net::io_context io;
  beast::tcp_stream stream{io};
  beast::flat_buffer buffer;
  uint16_t port = 0;
  std::chrono::milliseconds timeout{};

  // Runs the operation just started until it completes (each has a deadline).
  void run() {
    io.restart();
    io.run();
  }

  [[noreturn]] void failed(std::string_view what, const beast::error_code& ec) const {
    throw std::runtime_error("http client (127.0.0.1:" + std::to_string(port) + "): " +
                             std::string(what) + ": " + ec.message());
  }
};

http_connection::http_connection(uint16_t port, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<impl>()) {
  impl_->port = port;
  impl_->timeout = timeout;
  beast::error_code ec;
  impl_->stream.expires_after(timeout);
  impl_->stream.async_connect(tcp::endpoint{net::ip::address_v4::loopback(), port},
                              [&ec](beast::error_code e) { ec = e; });
  impl_->run();
  if (ec) impl_->failed("connect", ec);
}

http_connection::~http_connection() {
  beast::error_code ignored;
  impl_->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  impl_->stream.close();
}

http_result http_connection::request(std::string method, std::string target, std::string body,
                                     const request_headers& headers) {
  auto& d = *impl_;
  bhttp::request<bhttp::string_body> req;
  req.version(11);
  req.method_string(method);
  req.target(target);
  req.set(bhttp::field::host, "127.0.0.1:" + std::to_string(d.port));
  req.set(bhttp::field::user_agent, "mercato-http-tests");
  for (const auto& [name, value] : headers) req.insert(name, value);
  if (!body.empty() && req.find(bhttp::field::content_type) == req.end())
    req.set(bhttp::field::content_type, "application/json");
  req.body() = std::move(body);
  req.prepare_payload();

  beast::error_code ec;
  d.stream.expires_after(d.timeout);
  bhttp::async_write(d.stream, req, [&ec](beast::error_code e, size_t) { ec = e; });
  d.run();
  if (ec) d.failed("write " + method + " " + target, ec);

  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64u << 20);
  if (method == "HEAD") parser.skip(true);
  d.stream.expires_after(d.timeout);
  bhttp::async_read(d.stream, d.buffer, parser, [&ec](beast::error_code e, size_t) { ec = e; });
  d.run();
  if (ec) d.failed("read response to " + method + " " + target, ec);
  d.stream.expires_never();
  return to_result(parser.release());
}

void http_connection::send_raw(std::string_view bytes) {
  auto& d = *impl_;
  beast::error_code ec;
  d.stream.expires_after(d.timeout);
  net::async_write(d.stream, net::buffer(bytes.data(), bytes.size()),
                   [&ec](beast::error_code e, size_t) { ec = e; });
  d.run();
  // The server may close early on purpose (a refused request): what it sent is still readable.
  if (ec && !is_close(ec)) d.failed("raw write", ec);
  d.stream.expires_never();
}

raw_reply http_connection::read_until_close(std::chrono::milliseconds within) {
  auto& d = *impl_;
  raw_reply reply;
  reply.bytes.assign(static_cast<const char*>(d.buffer.data().data()), d.buffer.size());
  d.buffer.consume(d.buffer.size());
  d.stream.expires_after(within);  // one deadline for all the reads below
  for (;;) {
    beast::error_code ec;
    size_t n = 0;
    char chunk[4096];
    d.stream.async_read_some(net::buffer(chunk), [&](beast::error_code e, size_t got) {
      ec = e;
      n = got;
    });
    d.run();
    reply.bytes.append(chunk, n);
    if (!ec) continue;
    if (is_close(ec)) {
      reply.closed_by_server = true;
      return reply;
    }
    if (ec == beast::error::timeout) return reply;
    d.failed("raw read", ec);
  }
}

http_result request(uint16_t port, std::string method, std::string target, std::string body,
                    const request_headers& headers) {
  http_connection connection{port};
  return connection.request(std::move(method), std::move(target), std::move(body), headers);
}

raw_reply raw_send(uint16_t port, std::string_view bytes, std::chrono::milliseconds timeout) {
  http_connection connection{port, timeout};
  if (!bytes.empty()) connection.send_raw(bytes);
  return connection.read_until_close(timeout);
}

std::string raw_exchange(uint16_t port, std::string bytes, std::chrono::milliseconds timeout) {
  return raw_send(port, bytes, timeout).bytes;
}

std::vector<http_result> parse_responses(std::string_view raw) {
  std::vector<http_result> out;
  while (!raw.empty()) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.eager(true);
    parser.body_limit(64u << 20);
    beast::error_code ec;
    size_t used = 0;
    while (!parser.is_done() && used < raw.size()) {
      const size_t n = parser.put(net::buffer(raw.data() + used, raw.size() - used), ec);
      if (ec == bhttp::error::need_more || n == 0) break;
      if (ec) return out;
      used += n;
    }
    if (!parser.is_done()) {
      parser.put_eof(ec);  // a body delimited by the end of the connection
      if (ec || !parser.is_done()) return out;
    }
    out.push_back(to_result(parser.release()));
    raw.remove_prefix(used);
  }
  return out;
}

}  // namespace mercato::test
