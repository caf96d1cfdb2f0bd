#include "report/html.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "io/atomic_file.h"
#include "util/error.h"

namespace lengen::report::html {

std::string escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  return out;
}

std::string base64(const std::string& bytes) {
  static const char* digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = uint32_t(uint8_t(bytes[i])) << 16 | uint32_t(uint8_t(bytes[i + 1])) << 8 | uint8_t(bytes[i + 2]);
    for (int k = 3; k >= 0; --k) out += digits[(v >> (6 * k)) & 63];
  }
  if (i < bytes.size()) {  // 1 or 2 bytes left: pad with '='
    uint32_t v = uint32_t(uint8_t(bytes[i])) << 16;
    if (i + 1 < bytes.size()) v |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    out += digits[(v >> 18) & 63];
    out += digits[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? digits[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string table(const Table& t, const std::set<std::pair<size_t, size_t>>& highlight, const std::string& css_class) {
  std::string out = css_class.empty() ? "<table>\n" : "<table class=\"" + escape(css_class) + "\">\n";
  out += "<thead><tr>";
  for (const auto& h : t.header) out += "<th>" + escape(h) + "</th>";
  out += "</tr></thead>\n<tbody>\n";
  for (size_t r = 0; r < t.rows.size(); ++r) {
    out += "<tr>";
    for (size_t c = 0; c < t.header.size(); ++c) {
      const std::string text = c < t.rows[r].size() ? t.rows[r][c] : "";
      out += highlight.count({r, c}) ? "<td class=\"best\">" : "<td>";
      out += escape(text) + "</td>";
    }
    out += "</tr>\n";
  }
  return out + "</tbody>\n</table>\n";
}

std::string figure(const std::string& image_path, const std::string& caption) {
  std::string ext = std::filesystem::path(image_path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  const std::string mime = ext == ".svg" ? "image/svg+xml" : ext == ".png" ? "image/png" : "";
  if (mime.empty()) fail("report: cannot embed {}: only .png and .svg images", image_path);
  const std::string bytes = io::read_file(image_path);
  return "<figure><img alt=\"" + escape(caption) + "\" src=\"data:" + mime + ";base64," + base64(bytes) +
         "\"><figcaption>" + escape(caption) + "</figcaption></figure>\n";
}

std::string page(const std::string& title, const std::string& body) {
  // Colours: header #1f4e79 (the screenshot test looks for it), best cells #c8e6c9.
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + escape(title) +
         "</title>\n<style>\n"
         "body { font-family: sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }\n"
         "h1 { color: #1f4e79; } h2 { border-bottom: 2px solid #1f4e79; padding-bottom: 0.2em; }\n"
         "table { border-collapse: collapse; margin: 1em 0; font-size: 14px; }\n"
         "th { background: #1f4e79; color: #ffffff; padding: 6px 10px; text-align: left; }\n"
         "td { border: 1px solid #ccd6e0; padding: 4px 10px; text-align: right; }\n"
         "td:first-child { text-align: left; }\n"
         "td.best { background: #c8e6c9; font-weight: bold; }\n"
         "figure { display: inline-block; margin: 1em; } img { max-width: 100%; border: 1px solid #ccd6e0; }\n"
         "figcaption { font-size: 13px; color: #555; }\n"
         ".note { color: #555; font-size: 13px; }\n"
         "</style>\n</head>\n<body>\n" +
         body + "</body>\n</html>\n";
}

}  // namespace lengen::report::html
