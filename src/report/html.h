// Building blocks of the static HTML report: one self-contained file (styles inline, images
// embedded as data: URIs) that opens offline in any browser.
#pragma once
#include <set>
#include <string>
#include <utility>

#include "report/table.h"

namespace lengen::report::html {

std::string escape(const std::string& text);  // & < > " '
std::string base64(const std::string& bytes);

// <table> of `t`; cells whose (row, column) is in `highlight` get class "best".
std::string table(const Table& t, const std::set<std::pair<size_t, size_t>>& highlight = {},
                  const std::string& css_class = "");

// <figure> with the image file embedded (PNG as base64, SVG as base64 too, so its own markup
// cannot disturb the page); the caption is escaped. Throws lengen::Error naming a missing file.
std::string figure(const std::string& image_path, const std::string& caption);

// The page around `body`: title, the report's style sheet.
std::string page(const std::string& title, const std::string& body);

}  // namespace lengen::report::html
