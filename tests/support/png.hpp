// A PNG screenshot read back for pixel checks (the window test under Xvfb, tests/gui, and the
// browser test, tests/web): how many pixels of a colour lie in a rectangle.
#pragma once

#include <imgui.h>
#include <stb_image.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

namespace ftpsim::testing {

struct Png {
    int w = 0, h = 0;
    std::vector<unsigned char> px;
    bool load(const std::string& path) {
        int comp = 0;
        unsigned char* p = stbi_load(path.c_str(), &w, &h, &comp, 3);
        if (!p) return false;
        px.assign(p, p + static_cast<std::size_t>(w) * static_cast<std::size_t>(h) * 3);
        stbi_image_free(p);
        return true;
    }
    // pixels within `tol` of colour c (per channel) in rows [y0, y1) and columns [x0, x1)
    std::size_t count(ImU32 c, int x0, int y0, int x1, int y1, int tol = 4) const {
        const int r = static_cast<int>(c & 0xff), g = static_cast<int>((c >> 8) & 0xff), b = static_cast<int>((c >> 16) & 0xff);
        std::size_t n = 0;
        for (int y = std::max(0, y0); y < std::min(h, y1); ++y)
            for (int x = std::max(0, x0); x < std::min(w, x1); ++x) {
                const unsigned char* p = &px[(static_cast<std::size_t>(y) * static_cast<std::size_t>(w) + static_cast<std::size_t>(x)) * 3];
                n += std::abs(p[0] - r) <= tol && std::abs(p[1] - g) <= tol && std::abs(p[2] - b) <= tol;
            }
        return n;
    }
};

}  // namespace ftpsim::testing
