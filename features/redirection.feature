@redirection
Feature: Redirection and re-verification (steps 6-9)
  A blocked device is sent to the management portal Intune advertises; after the portal has
  re-evaluated it, or after it has enrolled, its next attempt gets a fresh answer.

  @RED-01 @cr-cisco @legacy-cisco
  Scenario: Redirects point to the portal advertised in mdminfo
    Given the mock advertises the management portal "https://portal.contoso-mock.test/networkaccesscontrol/index"
    And a device "laptop" that is noncompliant
    And a device "byod" that is not enrolled
    When "laptop" connects over Wi-Fi
    And "byod" connects over Wi-Fi
    Then every blocked device is redirected to the portal the mock advertises

  @RED-01 @cr-cisco @legacy-cisco @legacy-json @graph
  Scenario: No blocked device is left without a redirect
    Given a device "laptop" that is noncompliant
    And a device "byod" that is not enrolled
    And a device "visitor" that is unknown to Intune
    When "laptop" connects over Wi-Fi
    And "byod" connects over VPN
    And "visitor" connects over Wi-Fi
    Then every blocked device is redirected to the portal the mock advertises

  @RED-02 @cr-cisco @legacy-cisco @legacy-json @graph
  Scenario: After a portal visit the device's next attempt gets a fresh answer
    Given a device "laptop" that is noncompliant
    When "laptop" connects over Wi-Fi
    And 10 seconds pass
    And the user fixes "laptop" and opens the management portal
    And 5 seconds pass
    And "laptop" connects again
    Then "laptop" gets a fresh answer and full access on its next attempt

  @RED-03 @cr-cisco @legacy-cisco @legacy-json @graph
  Scenario: A device that enrolls and is evaluated compliant gets access within the cache lifetime
    Given a device "new-phone" that is not enrolled
    When "new-phone" connects over Wi-Fi
    And 30 seconds pass
    And "new-phone" enrolls and is evaluated compliant
    And "new-phone" connects every 20 seconds until the declared cache lifetime has passed
    Then "new-phone" gets access within the declared cache lifetime
