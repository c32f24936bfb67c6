# Shared settings for every diffdfl target: warnings and the precompiled LibTorch header.

set(DIFFDFL_WARNINGS -Wall -Wextra -Wpedantic -Wnon-virtual-dtor -Wcast-align -Woverloaded-virtual)
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  list(APPEND DIFFDFL_WARNINGS -Wshadow-uncaptured-local)  # clang's name for GCC's -Wshadow=local
else()
  list(APPEND DIFFDFL_WARNINGS -Wshadow=local)
endif()
if(DIFFDFL_WERROR)
  list(APPEND DIFFDFL_WARNINGS -Werror)
endif()

# The first target that asks for the PCH builds it; every later one reuses it (LibTorch headers
# dominate compile time: ~15 s per translation unit without the PCH).
set(DIFFDFL_PCH_HEADER "${PROJECT_SOURCE_DIR}/src/diffdfl/core/pch.h")
set(DIFFDFL_PCH_OWNER "" CACHE INTERNAL "")

function(diffdfl_target_defaults target)
  target_compile_options(${target} PRIVATE ${DIFFDFL_WARNINGS})
  if(DIFFDFL_PCH_OWNER STREQUAL "")
    target_precompile_headers(${target} PRIVATE "${DIFFDFL_PCH_HEADER}")
    set(DIFFDFL_PCH_OWNER ${target} CACHE INTERNAL "")
  else()
    target_precompile_headers(${target} REUSE_FROM ${DIFFDFL_PCH_OWNER})
  endif()
endfunction()

# diffdfl_layer(<name> DEPENDS <layers...> [LIBS <extra libs...>])
# Builds src/diffdfl/<name>/*.cpp into the static library diffdfl_<name>.
function(diffdfl_layer name)
  cmake_parse_arguments(ARG "" "" "DEPENDS;LIBS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/${name}/*.cpp")
  set(deps "")
  foreach(dep IN LISTS ARG_DEPENDS)
    list(APPEND deps diffdfl_${dep})
  endforeach()
  if(NOT sources)  # a header-only layer
    add_library(diffdfl_${name} INTERFACE)
    target_include_directories(diffdfl_${name} INTERFACE "$<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/src>"
                                                         "$<INSTALL_INTERFACE:include>")
    target_link_libraries(diffdfl_${name} INTERFACE ${deps} ${ARG_LIBS})
    return()
  endif()
  add_library(diffdfl_${name} STATIC ${sources})
  target_include_directories(diffdfl_${name} PUBLIC "$<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/src>"
                                                    "$<INSTALL_INTERFACE:include>")
  target_link_libraries(diffdfl_${name} PUBLIC ${deps} ${ARG_LIBS})
  diffdfl_target_defaults(diffdfl_${name})
endfunction()
