// ImGui's core with no window: a context with a display size and a built font atlas, so draw
// lists can be filled and inspected without OpenGL or an X server.
#pragma once

#include <imgui.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>

namespace ftpsim::gui::testing {

class HeadlessImGui {
public:
    explicit HeadlessImGui(float width = 1280, float height = 800, float font_px = 16) {
        ctx_ = ImGui::CreateContext();
        ImGuiIO& io = ImGui::GetIO();
        io.DisplaySize = ImVec2(width, height);
        io.DeltaTime = 1.0f / 60.0f;
        io.IniFilename = nullptr;
        io.BackendFlags |= ImGuiBackendFlags_RendererHasVtxOffset;  // what the OpenGL 3 backend says
        ImFontConfig cfg;
        cfg.SizePixels = font_px;
        font_ = io.Fonts->AddFontFromFileTTF("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", font_px);
        if (!font_) font_ = io.Fonts->AddFontDefault(&cfg);
        unsigned char* pixels = nullptr;
        int w = 0, h = 0;
        io.Fonts->GetTexDataAsRGBA32(&pixels, &w, &h);
        io.Fonts->SetTexID(reinterpret_cast<ImTextureID>(static_cast<std::intptr_t>(1)));
    }
    ~HeadlessImGui() { ImGui::DestroyContext(ctx_); }
    HeadlessImGui(const HeadlessImGui&) = delete;
    HeadlessImGui& operator=(const HeadlessImGui&) = delete;

    ImFont* font() const { return font_; }

    // Runs one frame; `draw` fills the background draw list, which is returned after Render().
    const ImDrawList& frame(const std::function<void(ImDrawList*)>& draw) {
        ImGui::NewFrame();
        ImDrawList* dl = ImGui::GetBackgroundDrawList();
        draw(dl);
        ImGui::Render();
        return *dl;
    }

private:
    ImGuiContext* ctx_ = nullptr;
    ImFont* font_ = nullptr;
};

// Number of vertices within `radius` pixels of a point.
inline std::size_t vertices_near(const ImDrawList& dl, ImVec2 p, float radius) {
    std::size_t n = 0;
    for (const ImDrawVert& v : dl.VtxBuffer)
        if (std::fabs(v.pos.x - p.x) <= radius && std::fabs(v.pos.y - p.y) <= radius) ++n;
    return n;
}

// Number of vertices inside a rectangle.
inline std::size_t vertices_in(const ImDrawList& dl, ImVec2 a, ImVec2 b) {
    std::size_t n = 0;
    for (const ImDrawVert& v : dl.VtxBuffer)
        if (v.pos.x >= a.x && v.pos.x <= b.x && v.pos.y >= a.y && v.pos.y <= b.y) ++n;
    return n;
}

}  // namespace ftpsim::gui::testing
