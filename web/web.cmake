# The browser build of the teaching app (issue #21): the same sources as the native build, compiled
# with Emscripten (emcmake), with Debian's ImGui and yaml-cpp compiled from their source packages
# (tools/web-deps.sh unpacks them into .deps/web) and GLFW/WebGL from Emscripten's own ports.
# The simulator runs on the single-threaded scheduler (no SimGrid, which needs threads or
# ucontext). Included from the top-level CMakeLists.txt when CMAKE_SYSTEM_NAME is Emscripten;
# the output is a folder of static files: ${CMAKE_BINARY_DIR}/site.
set(FTPSIM_WEB_DEPS ${PROJECT_SOURCE_DIR}/.deps/web CACHE PATH "Unpacked ImGui and yaml-cpp sources (tools/web-deps.sh)")
if(NOT EXISTS ${FTPSIM_WEB_DEPS}/imgui/imgui.cpp OR NOT EXISTS ${FTPSIM_WEB_DEPS}/yaml-cpp/CMakeLists.txt)
  message(FATAL_ERROR "The web build needs Debian's imgui and yaml-cpp sources in ${FTPSIM_WEB_DEPS}: run tools/web-deps.sh (as root)")
endif()

# Header-only libraries from the Debian packages the native build uses (libfmt-dev in header-only
# mode, nlohmann-json3-dev, libstb-dev), exposed through a folder of links so that no other
# native header (glibc's, say) can leak into the WebAssembly build.
set(web_sysinc ${CMAKE_BINARY_DIR}/web-include)
file(MAKE_DIRECTORY ${web_sysinc})
foreach(dir fmt nlohmann stb)
  if(NOT EXISTS /usr/include/${dir})
    message(FATAL_ERROR "The web build needs /usr/include/${dir} (tools/install-deps.sh)")
  endif()
  file(CREATE_LINK /usr/include/${dir} ${web_sysinc}/${dir} SYMBOLIC)
endforeach()

set(em_flags -sUSE_GLFW=3)
# em++'s JavaScript optimiser needs Debian's node-acorn (/usr/share/nodejs), which a Node.js not
# from Debian (a NodeSource one, say) does not search.
set(CMAKE_CXX_LINKER_LAUNCHER ${CMAKE_COMMAND} -E env NODE_PATH=/usr/share/nodejs:/usr/lib/nodejs)
# C++ exceptions on (Emscripten's default ignores them and a throw aborts): the loader reports bad
# input by throwing, and the GUI shows a run that cannot start as a failed outcome.
add_compile_options(-Wall -Wextra -Wno-unused-command-line-argument -fexceptions)
add_link_options(-fexceptions)
add_compile_definitions(FMT_HEADER_ONLY=1 FTPSIM_WEB=1)

# yaml-cpp 0.7.0 (Debian source package)
set(YAML_CPP_BUILD_TESTS OFF CACHE BOOL "" FORCE)
set(YAML_CPP_BUILD_TOOLS OFF CACHE BOOL "" FORCE)
set(YAML_CPP_BUILD_CONTRIB OFF CACHE BOOL "" FORCE)
set(YAML_CPP_INSTALL OFF CACHE BOOL "" FORCE)
add_subdirectory(${FTPSIM_WEB_DEPS}/yaml-cpp ${CMAKE_BINARY_DIR}/yaml-cpp EXCLUDE_FROM_ALL SYSTEM)
target_compile_options(yaml-cpp PRIVATE -w)

# Dear ImGui 1.86 (Debian source package) with its GLFW and OpenGL 3 (WebGL 2) backends
set(imgui_dir ${FTPSIM_WEB_DEPS}/imgui)
add_library(web_imgui STATIC ${imgui_dir}/imgui.cpp ${imgui_dir}/imgui_draw.cpp ${imgui_dir}/imgui_tables.cpp
  ${imgui_dir}/imgui_widgets.cpp ${imgui_dir}/backends/imgui_impl_glfw.cpp ${imgui_dir}/backends/imgui_impl_opengl3.cpp ${imgui_dir}/misc/cpp/imgui_stdlib.cpp)
target_include_directories(web_imgui SYSTEM PUBLIC ${imgui_dir} ${imgui_dir}/backends ${imgui_dir}/misc/cpp)
target_compile_options(web_imgui PRIVATE ${em_flags} -w)

include_directories(${PROJECT_SOURCE_DIR})
include_directories(SYSTEM ${web_sysinc} ${web_sysinc}/stb)

function(web_lib name)
  set(srcs)
  foreach(glob ${ARGN})
    file(GLOB found CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/${glob})
    list(APPEND srcs ${found})
  endforeach()
  add_library(${name} STATIC ${srcs})
endfunction()

web_lib(web_core protocol/*.cpp trace/*.cpp viz/*.cpp)
# The simulator without SimGrid: every sim/ source but the SimGrid engine (sim/net/engine_simgrid.cpp);
# network.cpp runs the single-threaded engine (sim/net/engine_single.cpp) when FTPSIM_WEB is set.
web_lib(web_sim sim/mbox/*.cpp sim/net/*.cpp sim/scenario/*.cpp sim/run/*.cpp)
get_target_property(web_sim_sources web_sim SOURCES)
list(FILTER web_sim_sources EXCLUDE REGEX "engine_simgrid\\.cpp$")
set_target_properties(web_sim PROPERTIES SOURCES "${web_sim_sources}")
target_link_libraries(web_sim PUBLIC web_core yaml-cpp)
web_lib(web_gui viz/gui/*.cpp)
target_link_libraries(web_gui PUBLIC web_core web_imgui)
target_compile_options(web_gui PRIVATE ${em_flags})
target_compile_definitions(web_gui PRIVATE FTPSIM_GUI_DEFAULT_FONT="/fonts/DejaVuSans.ttf"
  FTPSIM_GUI_DEFAULT_MONO_FONT="/fonts/DejaVuSansMono.ttf")

add_executable(ftpsim_web ${PROJECT_SOURCE_DIR}/web/main.cpp ${PROJECT_SOURCE_DIR}/app/gui_backend.cpp)
target_compile_definitions(ftpsim_web PRIVATE FTPSIM_HAVE_GUI=1)
target_link_libraries(ftpsim_web PRIVATE web_gui web_sim web_core yaml-cpp)
target_compile_options(ftpsim_web PRIVATE ${em_flags})
target_link_options(ftpsim_web PRIVATE ${em_flags} -sMAX_WEBGL_VERSION=2 -sMIN_WEBGL_VERSION=2
  -sALLOW_MEMORY_GROWTH=1 -sEXIT_RUNTIME=0 -sEXPORTED_RUNTIME_METHODS=FS,callMain
  "SHELL:--embed-file ${PROJECT_SOURCE_DIR}/scenarios@/scenarios"
  "SHELL:--embed-file /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf@/fonts/DejaVuSans.ttf"
  "SHELL:--embed-file /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf@/fonts/DejaVuSansMono.ttf")
set_target_properties(ftpsim_web PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/site OUTPUT_NAME ftpsim SUFFIX .js)

# The same engine under Node.js, for the test that every library scenario gives the native trace
# (tests/web): `node ftpsim-run.js SCENARIO.yaml [--set K=V]...` prints the JSON trace.
add_executable(ftpsim_web_run ${PROJECT_SOURCE_DIR}/web/run_main.cpp)
target_link_libraries(ftpsim_web_run PRIVATE web_sim web_core yaml-cpp)
# SINGLE_FILE: the wasm inside the .js (Node.js 18+ has fetch(), which Emscripten 3.1.6's loader
# would try on a file path)
target_link_options(ftpsim_web_run PRIVATE -sENVIRONMENT=node -sNODERAWFS=1 -sALLOW_MEMORY_GROWTH=1 -sEXIT_RUNTIME=1 -sSINGLE_FILE=1)
set_target_properties(ftpsim_web_run PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/node OUTPUT_NAME ftpsim-run SUFFIX .js)
add_custom_command(TARGET ftpsim_web POST_BUILD
  COMMAND ${CMAKE_COMMAND} -E copy ${PROJECT_SOURCE_DIR}/web/index.html ${CMAKE_BINARY_DIR}/site/index.html)
