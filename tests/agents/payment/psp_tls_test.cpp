// The PSP client over HTTPS against a loopback TLS server with a certificate made for the test:
// the exchange works when the certificate's CA is trusted and its name matches, and it is refused
// before any request byte is sent when either check fails.
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>

#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <catch2/catch.hpp>

#include "payment/psp_http.hpp"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

// A self-signed certificate for DNS:localhost only (no IP address), made with the openssl tool.
struct test_certificate {
  std::filesystem::path dir;
  std::string cert, key;
  test_certificate() {
    dir = std::filesystem::temp_directory_path() / ("mercato-tls-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    cert = (dir / "cert.pem").string();
    key = (dir / "key.pem").string();
    const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost "
                            "-addext subjectAltName=DNS:localhost -keyout '" + key + "' -out '" + cert +
                            "' >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("openssl could not make a test certificate");
  }
  ~test_certificate() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};

// Answers every request that arrives over TLS with 200 {"id":"pi_tls"}; remembers what it got.
class tls_server {
 public:
  explicit tls_server(const test_certificate& c) {
    tls_.use_certificate_chain_file(c.cert);
    tls_.use_private_key_file(c.key, net::ssl::context::pem);
    acceptor_.open(tcp::v4());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind({net::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { serve(); });
  }
  ~tls_server() {
    stopping_ = true;
    beast::error_code ignored;
    tcp::socket wake{ioc_};
    wake.connect({net::ip::make_address("127.0.0.1"), port_}, ignored);  // unblocks accept()
    thread_.join();
  }
  unsigned short port() const { return port_; }
  int requests() const { return requests_; }
  std::string last_request() const {
    std::lock_guard<std::mutex> guard{mutex_};
    return last_;
  }

 private:
  void serve() {
    while (!stopping_) {
      beast::error_code ec;
      tcp::socket socket{ioc_};
      acceptor_.accept(socket, ec);
      if (ec || stopping_) continue;
      beast::ssl_stream<tcp::socket> stream{std::move(socket), tls_};
      stream.handshake(net::ssl::stream_base::server, ec);
      if (ec) continue;  // the client refused our certificate: nothing was sent
      beast::flat_buffer buffer;
      bhttp::request<bhttp::string_body> req;
      bhttp::read(stream, buffer, req, ec);
      if (ec) continue;
      {
        std::lock_guard<std::mutex> guard{mutex_};
        last_ = std::string(req.method_string()) + " " + std::string(req.target()) + " " +
                std::string(req[bhttp::field::authorization]) + " " + req.body();
      }
      ++requests_;
      bhttp::response<bhttp::string_body> res{bhttp::status::ok, 11};
      res.set(bhttp::field::content_type, "application/json");
      res.body() = R"({"id":"pi_tls"})";
      res.prepare_payload();
      bhttp::write(stream, res, ec);
      stream.shutdown(ec);
    }
  }

  net::io_context ioc_;
  net::ssl::context tls_{net::ssl::context::tls_server};
  tcp::acceptor acceptor_{ioc_};
  unsigned short port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0};
  mutable std::mutex mutex_;
  std::string last_;
  std::thread thread_;
};

mercato::payment::psp_request intent_request(const std::string& base_url) {
  mercato::payment::psp_request req;
  req.base_url = base_url;
  req.target = "/v1/payment_intents";
  req.form = {{"amount", "1250"}, {"currency", "usd"}};
  req.headers.emplace_back("Authorization", "Bearer sk_test_tls");
  req.timeout = std::chrono::milliseconds(3000);
  return req;
}

}  // namespace

TEST_CASE("PSP client over HTTPS: a trusted certificate for the host carries the exchange", "[payment][tls]") {
  test_certificate cert;
  tls_server server{cert};
  auto req = intent_request("https://localhost:" + std::to_string(server.port()));
  req.ca_file = cert.cert;
  auto res = mercato::payment::psp_call(req);
  INFO(res.error);
  REQUIRE(res.result == mercato::payment::psp_response::stage::answered);
  CHECK(res.status == 200);
  CHECK(res.body == R"({"id":"pi_tls"})");
  CHECK(server.requests() == 1);
  CHECK(server.last_request() == "POST /v1/payment_intents Bearer sk_test_tls amount=1250&currency=usd");
}

TEST_CASE("PSP client over HTTPS: an untrusted or misnamed certificate stops it before any request", "[payment][tls]") {
  test_certificate cert;
  tls_server server{cert};

  // The system store does not know the test's self-signed certificate.
  auto untrusted = mercato::payment::psp_call(intent_request("https://localhost:" + std::to_string(server.port())));
  CHECK(untrusted.result == mercato::payment::psp_response::stage::not_sent);
  CHECK(untrusted.error.find("TLS handshake") != std::string::npos);

  // Trusted, but made for "localhost", not for the address the URL names.
  auto req = intent_request("https://127.0.0.1:" + std::to_string(server.port()));
  req.ca_file = cert.cert;
  auto misnamed = mercato::payment::psp_call(req);
  CHECK(misnamed.result == mercato::payment::psp_response::stage::not_sent);
  CHECK(misnamed.error.find("TLS handshake") != std::string::npos);

  // A CA file that does not exist is reported as such.
  req.ca_file = cert.dir.string() + "/missing.pem";
  auto no_file = mercato::payment::psp_call(req);
  CHECK(no_file.result == mercato::payment::psp_response::stage::not_sent);
  CHECK(no_file.error.find("trusted CAs") != std::string::npos);

  CHECK(server.requests() == 0);
}
