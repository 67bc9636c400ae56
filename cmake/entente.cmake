# Build helpers shared by every folder, on the model of Abseil's absl_cc_library.

# Warnings and sanitizers, applied to every Entente target through one INTERFACE target.
add_library(entente_build_flags INTERFACE)
target_compile_options(entente_build_flags INTERFACE -Wall -Wextra -Wpedantic -Wshadow=local
                       -Wnon-virtual-dtor -Wno-missing-field-initializers)
if(ENTENTE_WERROR)
  target_compile_options(entente_build_flags INTERFACE -Werror)
endif()
if(ENTENTE_SANITIZE)
  target_compile_options(entente_build_flags INTERFACE -fsanitize=${ENTENTE_SANITIZE}
                         -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(entente_build_flags INTERFACE -fsanitize=${ENTENTE_SANITIZE})
endif()

# entente_library(NAME name SOURCES ... [DEPS ...] [PUBLIC_DEPS ...])
# Creates the static library entente_<name> and its alias entente::<name>. Include paths start at the
# repository root. DEPS are private; PUBLIC_DEPS are those the public header exposes.
function(entente_library)
  cmake_parse_arguments(ARG "" "NAME" "SOURCES;DEPS;PUBLIC_DEPS" ${ARGN})
  set(target entente_${ARG_NAME})
  add_library(${target} STATIC ${ARG_SOURCES})
  add_library(entente::${ARG_NAME} ALIAS ${target})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${target} PRIVATE entente_build_flags ${ARG_DEPS} PUBLIC ${ARG_PUBLIC_DEPS})
endfunction()

# entente_test(NAME name SOURCES ... [DEPS ...] [LABELS ...] [TIMEOUT seconds])
# A doctest executable (the shared main is linked in) registered with ctest under its labels.
function(entente_test)
  cmake_parse_arguments(ARG "" "NAME;TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  set(target ${ARG_NAME})
  add_executable(${target} ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE entente_build_flags entente_doctest_main doctest::doctest
                        ${ARG_DEPS})
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR})
  add_test(NAME ${target} COMMAND ${target} --no-intro=true)
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set_tests_properties(${target} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
                       ENVIRONMENT "ENTENTE_BINARY=$<TARGET_FILE:entente>;ENTENTE_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()

# entente_contract(NAME name SOURCES ... ENTRY entry.cc)
# A contract: the static library entente_contract_<name> (its classes, for MockStub tests) and the
# loadable shared library lib<name>.so (the classes plus ENTRY, which holds ENTENTE_CHAINCODE).
# Contracts link only the shim.
function(entente_contract)
  cmake_parse_arguments(ARG "" "NAME;ENTRY" "SOURCES" ${ARGN})
  add_library(entente_contract_${ARG_NAME} STATIC ${ARG_SOURCES})
  target_include_directories(entente_contract_${ARG_NAME} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(entente_contract_${ARG_NAME} PRIVATE entente_build_flags PUBLIC entente::shim)
  add_library(${ARG_NAME} MODULE ${ARG_ENTRY})
  target_link_libraries(${ARG_NAME} PRIVATE entente_build_flags
                        entente_contract_${ARG_NAME})
  # Export only the entry point: the shim and JSON code linked into the library stay private to it.
  target_link_options(${ARG_NAME} PRIVATE -Wl,--exclude-libs,ALL)
  set_target_properties(${ARG_NAME} PROPERTIES CXX_VISIBILITY_PRESET hidden
                        LIBRARY_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/chaincode)
endfunction()
