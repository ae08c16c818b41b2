@state
Feature: Intune's state rules, which the NAC must not contradict
  Intune never moves an evaluated device back to Unknown, keeps Unknown for newly enrolled devices,
  marks devices past the validity period noncompliant, honours the "no compliance policy" setting
  and the grace period. When a connected device turns noncompliant, the NAC takes its access away
  within its polling interval.

  @STA-01 @cr-cisco @legacy-cisco @legacy-json @graph
  Scenario: A device that keeps syncing never returns to Unknown
    Given a device "laptop" that is compliant
    And "laptop" keeps syncing with Intune every 8 hours
    When "laptop" connects over Wi-Fi
    And the harness tries to set "laptop" back to Unknown
    And 20 hours pass
    And "laptop" connects again
    And 20 hours pass
    And "laptop" connects again
    Then the mock refuses the return to Unknown
    And "laptop" keeps full access while it syncs

  @STA-02 @cr-cisco @legacy-cisco @legacy-json @graph
  Scenario: Unknown lasts only until the first evaluation
    Given a device "new-laptop" that is newly enrolled
    When "new-laptop" connects over Wi-Fi
    And 15 minutes pass
    And "new-laptop" checks in with Intune
    And 5 minutes pass
    And "new-laptop" connects again
    Then "new-laptop" gets access once Intune has evaluated it

  @STA-03 @coa @cr-cisco @legacy-cisco @legacy-json @graph
  Scenario: A connected device that turns noncompliant loses its access within the polling interval
    Given a device "laptop" that is compliant
    When "laptop" connects over Wi-Fi
    And 1 hour passes
    And "laptop" turns noncompliant
    And the declared polling interval passes
    Then the NAC removes "laptop"'s access within its declared polling interval

  @STA-03 @coa @cr-cisco @legacy-cisco @legacy-json @graph
  Scenario: Access returns on the next attempt once the device is compliant again
    Given a device "laptop" that is compliant
    When "laptop" connects over VPN
    And 1 hour passes
    And "laptop" turns noncompliant
    And the declared polling interval passes
    And "laptop" turns compliant again
    And "laptop" connects again
    Then the NAC removes "laptop"'s access within its declared polling interval
    And "laptop" gets access again on its next attempt

  @STA-04 @cr-cisco @legacy-cisco @legacy-json @graph
  Scenario: A device that has not checked in within the validity period is noncompliant
    Given the tenant's validity period is 30 days
    And a device "laptop" that is compliant
    And a device "desktop" that is compliant
    And "laptop" last checked in 25 days ago
    When "laptop" connects over Wi-Fi
    And 6 days pass
    And "desktop" checks in with Intune
    And "laptop" connects again
    And "desktop" connects over Wi-Fi
    Then "laptop" is treated as noncompliant once past the validity period
    And "desktop" is treated as noncompliant once past the validity period

  @STA-05 @cr-cisco @legacy-cisco @legacy-json @graph
  Scenario: Devices without a compliance policy are compliant by default
    Given a device "kiosk" that is without a compliance policy
    When "kiosk" connects over Wi-Fi
    Then the NAC honours the tenant's setting for "kiosk"
    And "kiosk" gets full access without a redirect

  @STA-05 @cr-cisco @legacy-cisco @legacy-json @graph
  Scenario: The tenant marks devices without a compliance policy as not compliant
    Given a device "kiosk" that is without a compliance policy
    When "kiosk" connects over Wi-Fi
    And 1 hour passes
    And the tenant marks devices with no compliance policy assigned as noncompliant
    And "kiosk" checks in with Intune
    And 2 hours pass
    And "kiosk" connects again
    Then the NAC honours the tenant's setting for "kiosk"

  @STA-06 @graph
  Scenario: A device in its grace period keeps access until the grace period ends
    Given the tenant's grace period is 24 hours
    And a device "laptop" that is in its grace period
    When "laptop" connects over Wi-Fi
    And 12 hours pass
    And "laptop" connects again
    And 13 hours pass
    And "laptop" connects again
    Then "laptop" keeps access until its grace period ends and is noncompliant after
