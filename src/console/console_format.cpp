// Text rendering of admin replies for `mercato console` (see console_format.hpp).
#include "console/console_format.hpp"

#include <algorithm>
#include <cstdio>
#include <vector>

#include <nlohmann/json.hpp>

namespace mercato::console {

namespace {

using nlohmann::json;

struct column {
  std::string header;
  bool right_aligned = false;
};

// Columns separated by two spaces; the last column is not padded.
std::string render_table(const std::vector<column>& columns,
                         const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const column& c : columns) widths.push_back(c.header.size());
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i)
      widths[i] = std::max(widths[i], row[i].size());

  std::string out;
  auto append_line = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t i = 0; i < columns.size(); ++i) {
      const std::string& text = i < cells.size() ? cells[i] : std::string{};
      std::string padding(widths[i] - std::min(widths[i], text.size()), ' ');
      if (i > 0) line += "  ";
      if (columns[i].right_aligned)
        line += padding + text;
      else
        line += i + 1 < columns.size() ? text + padding : text;
    }
    out += line + '\n';
  };
  std::vector<std::string> headers;
  for (const column& c : columns) headers.push_back(c.header);
  append_line(headers);
  for (const auto& row : rows) append_line(row);
  return out;
}

// A JSON value as one cell or field: null and "" are "-", strings are unquoted.
std::string text_of(const json& value) {
  if (value.is_null() || (value.is_string() && value.get_ref<const std::string&>().empty()))
    return "-";
  if (value.is_string()) return value.get<std::string>();
  return value.dump();
}

const json& field(const json& object, const char* key) {
  static const json null_value;
  auto it = object.find(key);
  return it == object.end() ? null_value : *it;
}

std::string cell(const json& object, const char* key) {
  return text_of(field(object, key));
}

std::string format_ping_us(const json& value) {
  if (!value.is_number()) return "-";
  auto us = value.get<int64_t>();
  if (us < 1000) return std::to_string(us) + "us";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1fms", static_cast<double>(us) / 1000.0);
  return buffer;
}

std::string ensure_newline(std::string text) {
  if (text.empty() || text.back() != '\n') text += '\n';
  return text;
}

}  // namespace

std::string format_duration_ms(int64_t ms) {
  if (ms < 0) return "-";
  char buffer[48];
  constexpr int64_t second = 1000, minute = 60 * second, hour = 60 * minute, day = 24 * hour;
  if (ms < second) return std::to_string(ms) + "ms";
  if (ms < minute) return std::to_string(ms / second) + "s";
  if (ms < hour)
    std::snprintf(buffer, sizeof buffer, "%lldm%02llds", static_cast<long long>(ms / minute),
                  static_cast<long long>(ms % minute / second));
  else if (ms < day)
    std::snprintf(buffer, sizeof buffer, "%lldh%02lldm", static_cast<long long>(ms / hour),
                  static_cast<long long>(ms % hour / minute));
  else
    std::snprintf(buffer, sizeof buffer, "%lldd%02lldh", static_cast<long long>(ms / day),
                  static_cast<long long>(ms % day / hour));
  return buffer;
}

std::string render_status_table(const json& rows) {
  std::vector<std::vector<std::string>> cells;
  for (const json& r : rows) {
    const json& uptime = field(r, "uptime_ms");
    const json& restart_in = field(r, "restart_in_ms");
    bool up = uptime.is_number() && uptime.get<int64_t>() > 0;
    // Down and waiting out the supervisor's backoff: when it comes back says more than "-".
    std::string uptime_cell = up ? format_duration_ms(uptime.get<int64_t>())
                              : restart_in.is_number() ? "back in " + format_duration_ms(restart_in.get<int64_t>())
                                                       : "-";
    cells.push_back({cell(r, "agent"), cell(r, "state"), cell(r, "port"), cell(r, "incarnation"),
                     cell(r, "restarts") + " (" + cell(r, "restarts_crash") + "/" +
                         cell(r, "restarts_hang") + "/" + cell(r, "restarts_manual") + ")",
                     std::move(uptime_cell),
                     format_ping_us(field(r, "last_ping_us")), cell(r, "mailbox_size")});
  }
  return render_table({{"AGENT"},
                       {"STATE"},
                       {"PORT", true},
                       {"INC", true},
                       {"RESTARTS (C/H/M)", true},
                       {"UPTIME", true},
                       {"PING", true},
                       {"MAILBOX", true}},
                      cells);
}

std::string render_agents_table(const json& rows) {
  std::vector<std::vector<std::string>> cells;
  for (const json& r : rows)
    cells.push_back(
        {cell(r, "name"), cell(r, "port"), cell(r, "prefix"), cell(r, "schema"), cell(r, "state")});
  return render_table({{"AGENT"}, {"PORT", true}, {"PREFIX"}, {"SCHEMA"}, {"STATE"}}, cells);
}

std::string render_help(const json& commands) {
  std::vector<std::vector<std::string>> cells;
  for (const json& c : commands) cells.push_back({cell(c, "usage"), cell(c, "description")});
  std::string table = render_table({{"COMMAND"}, {"DESCRIPTION"}}, cells);
  return table.substr(table.find('\n') + 1);  // the header adds nothing here
}

std::string render_fields(const json& object) {
  // The name first, then the rest in (alphabetical) key order.
  std::vector<std::string> keys;
  for (const char* first : {"agent", "name"})
    if (object.contains(first)) keys.emplace_back(first);
  for (const auto& item : object.items())
    if (std::find(keys.begin(), keys.end(), item.key()) == keys.end()) keys.push_back(item.key());
  size_t width = 0;
  for (const auto& k : keys) width = std::max(width, k.size());
  std::string out;
  for (const auto& k : keys)
    out += k + ":" + std::string(width - k.size() + 1, ' ') + text_of(object.at(k)) + '\n';
  return out;
}

rendered_reply render_reply(const std::string& reply_line) {
  json reply = json::parse(reply_line, nullptr, false);
  if (reply.is_discarded() || !reply.is_object() || !field(reply, "ok").is_boolean())
    return {false, "error: malformed reply from the server: " + ensure_newline(reply_line)};
  if (!reply["ok"].get<bool>()) return {false, "error: " + ensure_newline(cell(reply, "error"))};

  const std::string command = cell(reply, "command");
  const json& result = field(reply, "result");
  if (result.is_array()) {
    if (command == "status") return {true, render_status_table(result)};
    if (command == "agents") return {true, render_agents_table(result)};
    if (command == "help") return {true, render_help(result)};
  }
  if (result.is_string()) return {true, ensure_newline(result.get<std::string>())};
  if (result.is_object() && result.size() == 1 && result.contains("message"))
    return {true, "ok: " + ensure_newline(text_of(result["message"]))};
  if (result.is_object()) return {true, render_fields(result)};
  if (result.is_null()) return {true, "ok\n"};
  return {true, ensure_newline(result.dump(2))};
}

}  // namespace mercato::console
