# Runs at install time (from cmake_install.cmake, see install.cmake): writes one file for
# the prefix this install uses, then installs it like install(FILES) would (DESTDIR, the
# install manifest and the "-- Installing:" line come from file(INSTALL)).
#   _mode configure: _source is a template with @prefix@ @bindir@ @libdir@ @includedir@ @version@
#   _mode unit:      _source is a systemd unit naming /usr/bin/confvisord and /usr/bin/confvisorctl
#   (in a template, directories under the prefix read ${prefix}/..., as pkg-config likes)
set(prefix "${CMAKE_INSTALL_PREFIX}")
set(version "${_version}")
foreach(_dir bindir libdir includedir)
  if(IS_ABSOLUTE "${_${_dir}}")
    set(${_dir} "${_${_dir}}")
    set(_abs_${_dir} "${_${_dir}}")
  else()
    set(${_dir} "\${prefix}/${_${_dir}}")
    set(_abs_${_dir} "${prefix}/${_${_dir}}")
  endif()
endforeach()

get_filename_component(_name "${_source}" NAME)
if(_mode STREQUAL "configure")
  string(REGEX REPLACE "\\.in$" "" _name "${_name}")
endif()
# One scratch directory per install, so parallel installs to different prefixes never meet.
string(MD5 _key "$ENV{DESTDIR}|${CMAKE_INSTALL_PREFIX}|${_source}")
set(_scratch "${_work}/${_key}")
if(_mode STREQUAL "configure")
  configure_file("${_source}" "${_scratch}/${_name}" @ONLY)
else()
  file(READ "${_source}" _text)
  string(REPLACE "/usr/bin/confvisord" "${_abs_bindir}/confvisord" _text "${_text}")
  string(REPLACE "/usr/bin/confvisorctl" "${_abs_bindir}/confvisorctl" _text "${_text}")
  file(WRITE "${_scratch}/${_name}" "${_text}")
endif()

if(IS_ABSOLUTE "${_destination}")
  set(_to "${_destination}")
else()
  set(_to "${CMAKE_INSTALL_PREFIX}/${_destination}")
endif()
file(INSTALL DESTINATION "${_to}" TYPE FILE FILES "${_scratch}/${_name}")
file(REMOVE_RECURSE "${_scratch}")
