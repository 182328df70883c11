"""--config KEY VALUE anywhere on the command line, as GDAL's tools take it (issue 20): set as a
GDAL configuration option (here KEEPOUT_SITES, which chooses the store), taken out of the
arguments; a --config without KEY VALUE is a usage error; after -- it is an argument."""
import os

from kotest import DATA, main, run

PHOTO = os.path.join(DATA, "images", "DJI_0021.JPG")


def test_config_sets_the_store_before_or_after_the_command(tmp):
    missing = os.path.join(tmp, "missing.sqlite")
    code, _, err = run("--config", "KEEPOUT_SITES", missing, "check", PHOTO)
    assert code == 2 and missing in err, err
    code, _, err = run("check", PHOTO, "--config", "KEEPOUT_SITES", missing)
    assert code == 2 and missing in err, err
    # the option the user gives wins over the environment
    code, _, err = run("check", "--config", "KEEPOUT_SITES", missing, PHOTO,
                       env={"KEEPOUT_SITES": ""})
    assert code == 2 and missing in err, err


def test_config_without_key_value_is_a_usage_error(tmp):
    for args in (["check", PHOTO, "--config"], ["check", PHOTO, "--config", "KEY"]):
        code, _, err = run(*args)
        assert code == 2 and "--config needs KEY VALUE" in err, (args, err)


def test_config_after_double_dash_is_an_input(tmp):
    code, out, err = run("footprint", "--", "--config")
    # read as an input named --config (missing: an unknown record), not as an option
    assert code in (1, 2) and "--config: no such file" in err and "KEY VALUE" not in err, err


if __name__ == "__main__":
    main([v for k, v in list(globals().items()) if k.startswith("test_")])
