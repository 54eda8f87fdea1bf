# A small stand-in for Homebrew's Formula DSL, enough to evaluate dist/auditgraph.rb off macOS
# and without brew: `ruby formula_stub.rb FORMULA` with STUB_OS=mac|linux and STUB_ARCH=arm|intel
# prints, as JSON, what the formula declares on that platform. With STUB_KEG=DIR (a directory
# holding the unpacked archive) it also runs `install` into DIR/prefix and then the `test do` block.
require "fileutils"
require "json"
require "pathname"
require "tmpdir"

module OS
  def self.mac? = ENV.fetch("STUB_OS") == "mac"
  def self.linux? = ENV.fetch("STUB_OS") == "linux"
end

module Hardware
  module CPU
    def self.arm? = ENV.fetch("STUB_ARCH") == "arm"
    def self.intel? = ENV.fetch("STUB_ARCH") == "intel"
  end
end

# Homebrew's Pathname#write creates the parent directories.
class Pathname
  def write(content)
    dirname.mkpath
    File.write(self, content)
  end
end

class Livecheck
  attr_reader :spec

  def initialize = @spec = {}
  def url(value) = @spec[:url] = value.to_s
  def strategy(value) = @spec[:strategy] = value.to_s
  def regex(value) = @spec[:regex] = value.source
end

class BinDir
  attr_reader :installed

  def initialize(dir, from)
    @dir = dir
    @from = from
    @installed = []
  end

  def install(*names)
    @dir.mkpath
    names.each do |name|
      FileUtils.cp(@from/name, @dir/name, preserve: true)
      @installed << name
    end
  end

  def /(other) = @dir/other
  def to_s = @dir.to_s
end

class Formula
  class << self
    attr_reader :fields, :test_block

    def record(key, value)
      (@fields ||= Hash.new { |h, k| h[k] = [] })[key] << value
    end

    %i[desc homepage version license url sha256].each do |name|
      define_method(name) { |value| record(name, value) }
    end

    def livecheck(&block)
      lc = Livecheck.new
      lc.instance_eval(&block)
      record(:livecheck, lc.spec)
    end

    def test(&block) = @test_block = block
    def inherited(sub) = (@subclasses ||= []) << sub
    def subclasses = @subclasses || []
  end

  class AssertionFailed < StandardError; end

  attr_reader :bin, :testpath, :completions

  def initialize(keg)
    @prefix = keg/"prefix"
    @bin = BinDir.new(@prefix/"bin", keg)
    @testpath = Pathname(Dir.mktmpdir("formula-test"))
    @completions = {}
  end

  # Homebrew's: runs `CMD... SHELL` per shell (the default shell_parameter_format appends the shell
  # name) into bash_completion, zsh_completion and fish_completion, named after the executable.
  def generate_completions_from_executable(*cmd, shells: %i[bash zsh fish])
    name = File.basename(cmd.first.to_s)
    files = {
      bash: @prefix/"etc/bash_completion.d"/name,
      zsh: @prefix/"share/zsh/site-functions"/"_#{name}",
      fish: @prefix/"share/fish/vendor_completions.d"/"#{name}.fish",
    }
    shells.each do |shell|
      out = IO.popen([*cmd.map(&:to_s), shell.to_s], &:read)
      raise AssertionFailed, "#{cmd.join(" ")} #{shell} exited #{$?.exitstatus}" unless $?.success?
      files.fetch(shell).write(out)
      @completions[shell.to_s] = files.fetch(shell).to_s
    end
  end

  def system(*args)
    ok = Kernel.system(*args.map(&:to_s))
    raise AssertionFailed, "system #{args.join(" ")} failed" unless ok
  end

  def shell_output(cmd)
    out = `#{cmd}`
    raise AssertionFailed, "#{cmd} exited #{$?.exitstatus}" unless $?.success?
    out
  end

  def assert_match(pattern, text)
    raise AssertionFailed, "#{pattern.inspect} does not match #{text}" unless text.match?(pattern)
  end

  def assert_path_exists(path)
    raise AssertionFailed, "#{path} does not exist" unless File.exist?(path)
  end
end

load ARGV.fetch(0)
klass = Formula.subclasses.fetch(0)
report = { "class" => klass.name }
klass.fields.each { |k, v| report[k.to_s] = v.map { |x| x.is_a?(Hash) ? x : x.to_s } }
if (keg = ENV["STUB_KEG"])
  formula = klass.new(Pathname(keg))
  formula.install
  report["installed"] = formula.bin.installed
  report["completions"] = formula.completions
  begin
    formula.instance_eval(&klass.test_block)
    report["test"] = "passed"
  rescue Formula::AssertionFailed => e
    report["test"] = "failed: #{e.message}"
  ensure
    FileUtils.rm_rf(formula.testpath)
  end
end
puts JSON.generate(report)
